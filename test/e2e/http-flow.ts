import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRuntime } from "../../lib/compose/embedded.ts";
import type { Vault } from "../../lib/vault.ts";
import { listIds } from "../helpers/gc-fixture.ts";
import { seededBytes, sha256 } from "../helpers/image-bytes.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

/** A runtime under test: the vault (on a settable clock) and the embedded runtime serving it. */
export interface RuntimeUnderTest {
  readonly vault: Vault;
  readonly runtime: EmbeddedRuntime;
  /** The bearer token every request carries (the server's own, as `serve` writes it). */
  readonly token?: string;
  /**
   * Cloud restore targets to check, where the runtime has them: after restoring the latest point
   * into `s3Url` and into a new EBS snapshot, these read the results back.
   */
  readonly cloudTargets?: {
    readonly s3Url: string;
    readS3(url: string): Promise<Buffer>;
    readSnapshot(snapshotId: string, length: number): Promise<Buffer>;
  };
  close(): Promise<void>;
}

/**
 * The HTTP end-to-end flow of the serverless application, run against any runtime: a policy and
 * a protected disk, the scheduler firing as the clock moves, incremental backups, restores over
 * HTTP (one through archive rehydration), soft delete, undelete, expiry and garbage collection.
 */
export function describeHttpFlow(
  name: string,
  start: (root: string, clock: { now(): number }) => Promise<RuntimeUnderTest>,
  options: { readonly cloudTargets?: boolean } = {},
): void {
  const DAY = 24 * 60 * 60 * 1000;
  const SIZE = 2 * 1024 * 1024;
  let root: string;
  let vault: Vault;
  let runtime: EmbeddedRuntime;
  let under: RuntimeUnderTest;
  let now = Date.parse("2026-03-01T00:30:00Z");
  const imagePath = () => join(root, "web.img");
  const images = new Map<string, Buffer>();

  beforeAll(async () => {
    root = await tempDir("http-flow");
    under = await start(root, { now: () => now });
    vault = under.vault;
    runtime = under.runtime;
    await writeFile(imagePath(), seededBytes(1, SIZE));
    // File restores over HTTP go only where the vault's settings allow.
    await vault.addRestoreDirectory(root);
  });

  afterAll(async () => {
    await under.close();
    await removeDir(root);
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(under.token ? { authorization: `Bearer ${under.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
  }

  /** Moves the clock and lets the scheduler fire: backups, retention, the day's machines. */
  async function fire(at: number) {
    now = at;
    await runtime.tick();
    await runtime.settle();
  }

  async function points() {
    return (await call("GET", "/recovery-points?disk=web")).json.items as {
      id: string;
      tier: string;
      state: string;
    }[];
  }

  async function restoreOverHttp(pointId: string, key: string) {
    const target = join(root, `restore-${key}.img`);
    const started = await call(
      "POST",
      "/restores",
      { recoveryPointId: pointId, target: { kind: "file", path: target } },
      { "idempotency-key": key },
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    expect(started.headers.get("location")).toBe(`/restores/${started.json.jobId}`);
    await runtime.settle();
    const job = await call("GET", `/restores/${started.json.jobId}`);
    expect(job.json.status, JSON.stringify(job.json)).toBe("completed");
    return readFile(target);
  }

  describe(`${name} over HTTP`, () => {
    it("backs up a protected disk when the scheduler fires, incrementally, and restores over HTTP", async () => {
      const policy = {
        name: "daily",
        schedule: { kind: "daily", times: ["01:00"] },
        timeZone: "UTC",
        retention: { daily: { days: 120 } },
        snapshotRetentionDays: 2,
        archive: { afterDays: 90 },
      };
      expect((await call("POST", "/policies", policy)).status).toBe(201);
      const item = await call("POST", "/protected-items", {
        disk: "web",
        source: imagePath(),
        policy: "daily",
      });
      expect(item.status, JSON.stringify(item.json)).toBe(201);

      await fire(Date.parse("2026-03-01T01:05:00Z"));
      const [first] = await points();
      expect(first).toBeDefined();
      images.set(first!.id, seededBytes(1, SIZE));

      const changed = seededBytes(1, SIZE);
      seededBytes(2, 64 * 1024).copy(changed, 512 * 1024);
      await writeFile(imagePath(), changed);
      await fire(Date.parse("2026-03-02T01:05:00Z"));
      const list = await points();
      expect(list).toHaveLength(2);
      images.set(list[0]!.id, changed);
      expect(sha256(await restoreOverHttp(list[0]!.id, "restore-latest"))).toBe(sha256(changed));
      // The same Idempotency-Key again: the same job, no second restore.
      const again = await call(
        "POST",
        "/restores",
        {
          recoveryPointId: list[0]!.id,
          target: { kind: "file", path: join(root, "restore-restore-latest.img") },
        },
        { "idempotency-key": "restore-latest" },
      );
      expect(again.status).toBe(202);
      const jobs = (await call("GET", "/jobs?disk=web")).json.items as { type: string }[];
      expect(jobs.filter((j) => j.type === "restore")).toHaveLength(1);
    });

    it("tiers an old point to the archive and restores it through rehydration", async () => {
      const oldest = [...images.keys()][0]!;
      await fire(Date.parse("2026-06-01T01:05:00Z"));
      const archived = (await points()).find((p) => p.id === oldest);
      expect(archived?.tier).toBe("archive");
      expect(sha256(await restoreOverHttp(oldest, "restore-archived"))).toBe(sha256(images.get(oldest)!));
    });

    it("soft-deletes, undeletes, then expires and purges a point, releasing only its blocks", async () => {
      // A point with blocks of its own: the guest writes new data, the scheduler fires.
      const current = await readFile(imagePath());
      const diverged = Buffer.from(current);
      seededBytes(3, 256 * 1024).copy(diverged, 1024 * 1024);
      await writeFile(imagePath(), diverged);
      const packsBefore = await listIds(vault.ctx.deps.store, "packs/");
      await fire(now + DAY);
      const own = (await listIds(vault.ctx.deps.store, "packs/")).filter((p) => !packsBefore.includes(p));
      expect(own.length).toBeGreaterThan(0);
      const newest = (await points())[0]!;
      await writeFile(imagePath(), current); // the guest reverts: later points do not share them

      expect((await call("DELETE", `/recovery-points/${newest.id}`)).json.state).toBe("soft-deleted");
      expect((await call("POST", `/recovery-points/${newest.id}/undelete`)).json.state).toBe("available");
      expect((await call("POST", `/recovery-points/${newest.id}/undelete`)).status).toBe(409);
      expect((await call("DELETE", `/recovery-points/${newest.id}`)).status).toBe(200);
      // Still restorable while soft-deleted.
      expect(sha256(await restoreOverHttp(newest.id, "soft-deleted"))).toBe(sha256(diverged));

      await fire(now + 15 * DAY); // expiry purges it; garbage collection releases its blocks
      expect((await points()).find((p) => p.id === newest.id)?.state).toBe("purged");
      const left = await listIds(vault.ctx.deps.store, "packs/");
      for (const pack of own) expect(left).not.toContain(pack);
      for (const pack of packsBefore) expect(left).toContain(pack);
      for (const p of (await points()).filter((x) => x.state === "available").slice(0, 2)) {
        expect(sha256(await restoreOverHttp(p.id, `after-purge-${p.id}`))).toBe(sha256(current));
      }
      expect((await vault.check()).ok).toBe(true);
    });

    if (options.cloudTargets) {
      it("restores into the cloud targets the runtime offers: an S3 object, an EBS snapshot", async () => {
        const targets = under.cloudTargets!;
        const latest = (await points()).find((p) => p.state === "available")!;
        const expected = await readFile(imagePath());
        for (const target of [
          { kind: "s3", url: targets.s3Url },
          { kind: "ebs-snapshot", description: "web" },
        ]) {
          const started = await call("POST", "/restores", { recoveryPointId: latest.id, target });
          expect(started.status, JSON.stringify(started.json)).toBe(202);
          await runtime.settle();
          const job = (await call("GET", `/restores/${started.json.jobId}`)).json;
          expect(job.status, JSON.stringify(job)).toBe("completed");
          const where = String(job.restoredTo);
          const bytes =
            target.kind === "s3"
              ? await targets.readS3(targets.s3Url)
              : await targets.readSnapshot(where.replace(/^.*?(snap-[0-9a-f]+).*$/, "$1"), expected.length);
          expect(sha256(bytes), `${target.kind} → ${where}`).toBe(sha256(expected));
        }
      });
    }

    it("answers bad requests with 400 naming the field, unknown ids with 404", async () => {
      const bad = await call("POST", "/restores", { target: { kind: "file", path: "/tmp/x" } });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/recoveryPointId/);
      expect((await call("GET", "/recovery-points/nope")).status).toBe(404);
    });
  });
}
