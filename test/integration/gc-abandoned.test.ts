import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobStatus } from "../../lib/model.ts";
import type { ReferenceStore } from "../../lib/ports/references.ts";
import { GcFixture } from "../helpers/gc-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";

process.env.BLOCKVAULT_WORKERS = "1";

const MIB = 1024 * 1024;
let f: GcFixture;

beforeEach(async () => {
  f = new GcFixture();
  await f.setUp("gc-abandoned");
});

afterEach(async () => {
  await f.tearDown();
});

describe("a backup that died holding references", () => {
  it("gives them back once its job is found abandoned, so its packs can be collected", async () => {
    const p1 = await f.backup("web", seededBytes(1, MIB));
    const { catalog } = f.vault.ctx.deps;
    const refs = f.vault.ctx.deps.references as ReferenceStore;
    // The next backup holds its segments and packs, then its process dies before the commit:
    // nothing gives the holds back (its own undo never runs).
    const commit = catalog.commitRecoveryPoint.bind(catalog);
    const release = refs.releaseSegment.bind(refs);
    catalog.commitRecoveryPoint = async () => {
      throw new Error("the process died here");
    };
    refs.releaseSegment = async () => {
      throw new Error("the process died here");
    };
    await expect(f.backup("web", seededBytes(2, MIB))).rejects.toThrow(/died/);
    catalog.commitRecoveryPoint = commit;
    refs.releaseSegment = release;
    const [dead] = await catalog.listJobs(f.vault.id, { status: JobStatus.Failed });
    expect(dead?.detail?.pendingPoint).toBeTruthy();
    // As the dead process left it: running, its last heartbeat long ago.
    await catalog.updateJob(f.vault.id, dead!.id, {
      status: JobStatus.Running,
      ended: undefined,
      error: undefined,
      heartbeat: Date.now() - 120_000,
    });

    await f.purge(p1);
    const result = await f.vault.collectGarbage();
    expect(await catalog.getJob(f.vault.id, dead!.id)).toMatchObject({
      status: JobStatus.Abandoned,
      detail: expect.objectContaining({ pendingSettled: true }),
    });
    // Every pack goes: the dead backup's holds no longer keep its packs alive.
    expect(result.pointsReleased).toEqual([p1]);
    expect(await f.packs()).toEqual([]);
  });
});
