import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, type HttpFixture, startHttpFixture } from "../helpers/http-api-fixture.ts";
import { seededBytes } from "../helpers/image-bytes.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;
let second: string;

beforeEach(async () => {
  f = await startHttpFixture();
  second = join(f.root, "data.img");
  await writeFile(second, seededBytes(9, 24_000));
  process.env.BLOCKVAULT_SNAPSHOT_DIR = f.root;
});

afterEach(() => f.close());

const as = (role: keyof HttpFixture["tokens"], body?: unknown) => ({
  token: f.tokens[role],
  ...(body ? { body } : {}),
});

describe("VMs over HTTP", () => {
  it("protects a VM (contributor), backs it up (operator) and lists its VM points with their consistency", async () => {
    const request = { name: "web", disks: [f.image, second], snapshot: "copy" };
    expect((await call(f, "POST", "/vms", as("reader", request))).status).toBe(403);
    const made = await call(f, "POST", "/vms", as("contributor", request));
    expect(made.status).toBe(201);
    expect(made.headers.get("location")).toBe("/vms/web");
    expect(made.body.disks.map((d: { disk: string }) => d.disk)).toEqual(["web.disk0", "web.disk1"]);
    expect((await call(f, "POST", "/vms", as("contributor", request))).status).toBe(200);
    expect(
      (await call(f, "GET", "/vms", as("reader"))).body.items.map((v: { name: string }) => v.name),
    ).toEqual(["web"]);

    expect((await call(f, "POST", "/vms/web/backups", as("reader"))).status).toBe(403);
    const backup = await call(f, "POST", "/vms/web/backups", as("operator"));
    expect(backup.status).toBe(201);
    expect(backup.body).toMatchObject({
      vm: "web",
      consistency: "crash-consistent",
      consistencyReason: "no guest agent is configured",
    });
    expect(backup.body.recoveryPointIds).toHaveLength(2);
    expect((await call(f, "POST", "/vms/nope/backups", as("operator"))).status).toBe(404);

    const listed = await call(f, "GET", "/vm-points?vm=web", as("reader"));
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({
      id: backup.body.vmRecoveryPointId,
      points: backup.body.recoveryPointIds,
      consistency: "crash-consistent",
      consistencyReason: "no guest agent is configured",
    });
    const one = await call(f, "GET", `/vm-points/${backup.body.vmRecoveryPointId}`, as("reader"));
    expect(one.body.state).toBe("available");
  });

  it("refuses agents, scripts and mount points over HTTP: they run commands as the agent's machine", async () => {
    for (const extra of [
      { agent: { kind: "local" } },
      { preScripts: [{ command: "id" }] },
      { freezeMounts: ["/srv"] },
    ]) {
      const refused = await call(
        f,
        "POST",
        "/vms",
        as("contributor", { name: "web", disks: [f.image], ...extra }),
      );
      expect(refused.status, JSON.stringify(extra)).toBe(400);
    }
    expect((await call(f, "GET", "/vms", as("reader"))).body.items).toEqual([]);
  });

  it("deletes and undeletes a VM point with all its disks' points; a disk point alone is refused", async () => {
    await call(f, "POST", "/vms", as("contributor", { name: "web", disks: [f.image, second] }));
    const { body } = await call(f, "POST", "/vms/web/backups", as("operator"));
    const [disk0] = body.recoveryPointIds as string[];
    const alone = await call(f, "DELETE", `/recovery-points/${disk0}`, as("contributor"));
    expect(alone.status).toBe(409);
    expect(alone.body.error.message).toMatch(/is a disk of VM point/);
    const deleted = await call(f, "DELETE", `/vm-points/${body.vmRecoveryPointId}`, as("contributor"));
    expect([deleted.status, deleted.body.state]).toEqual([200, "soft-deleted"]);
    for (const id of body.recoveryPointIds as string[]) {
      expect((await call(f, "GET", `/recovery-points/${id}`, as("reader"))).body.state).toBe("soft-deleted");
    }
    const back = await call(f, "POST", `/vm-points/${body.vmRecoveryPointId}/undelete`, as("contributor"));
    expect([back.status, back.body.state]).toEqual([200, "available"]);
    expect((await call(f, "GET", `/recovery-points/${disk0}`, as("reader"))).body.state).toBe("available");
  });
});
