import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localVaultPaths } from "../../lib/compose/local.ts";
import { AccessDeniedError, ConflictError, ValidationError } from "../../lib/errors.ts";
import { hasVhdCookie, parseVhdFooter } from "../../lib/formats/vhd.ts";
import { seededBytes } from "../helpers/image-bytes.ts";
import { erasePrincipal, writePrincipal } from "../helpers/raw-principals.ts";
import { owner, type ServeFixture, startServeFixture } from "../helpers/serve-fixture.ts";

let f: ServeFixture;
let allowed: string;
let outside: string;
/** Every error body the server sent, checked at the end for SDK class names. */
const errors: string[] = [];

beforeAll(async () => {
  f = await startServeFixture();
  allowed = join(f.root, "restores");
  outside = join(f.root, "elsewhere");
  await mkdir(allowed);
  await mkdir(outside);
});
afterAll(async () => {
  await f.close();
});

async function restore(target: Record<string, unknown>, token?: string) {
  const r = await owner(f, "POST", "/restores", { recoveryPointId: f.point, target }, token);
  if (r.status >= 400) errors.push(r.text);
  return r;
}

async function restoreJobs(): Promise<number> {
  const jobs = (await owner(f, "GET", "/jobs")).body.items as { type: string }[];
  return jobs.filter((j) => j.type === "restore").length;
}

describe("serve as a local attack surface: restore targets", () => {
  it("refuses file restores while the vault allows no restore directory, naming the setting", async () => {
    const r = await restore({ kind: "file", path: join(allowed, "a.img") });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/restoreDirectories.*vault restore-dirs add/);
    expect(await restoreJobs()).toBe(0);
    await f.vault.addRestoreDirectory(allowed);
    expect((await f.vault.settings()).restoreDirectories).toEqual([allowed]);
  });

  it("restores into an allowed directory (the control for every refusal below)", async () => {
    const path = join(allowed, "web.img");
    const r = await restore({ kind: "file", path });
    expect(r.status, r.text).toBe(202);
    await f.runtime.settle();
    const job = await owner(f, "GET", `/restores/${r.body.jobId}`);
    expect(job.body.status, job.text).toBe("completed");
    expect(await readFile(path)).toEqual(seededBytes(3, 40_000));
  });

  it("writes the format the body asks for, and refuses a format with a range or one it does not know", async () => {
    const path = join(allowed, "web.vhd");
    const r = await restore({ kind: "file", path, format: "vhd" });
    expect(r.status, r.text).toBe(202);
    await f.runtime.settle();
    const job = await owner(f, "GET", `/restores/${r.body.jobId}`);
    expect(job.body.status, job.text).toBe("completed");
    expect(job.body.target).toEqual({ kind: "file", path, format: "vhd" });
    const bytes = await readFile(path);
    // The 40,000-byte disk padded to whole sectors, then the fixed VHD footer.
    expect(bytes.length).toBe(40_448 + 512);
    expect(bytes.subarray(0, 40_000)).toEqual(seededBytes(3, 40_000));
    expect(parseVhdFooter(bytes.subarray(40_448)).currentSize).toBe(40_448n);
    expect(hasVhdCookie(bytes.subarray(40_448))).toBe(true);
    const ranged = await owner(f, "POST", "/restores", {
      recoveryPointId: f.point,
      target: { kind: "file", path: join(allowed, "part.qcow2"), format: "qcow2" },
      range: { offset: 0, length: 4096 },
    });
    expect(ranged.status, ranged.text).toBe(400);
    expect(ranged.body.error.message).toMatch(/format qcow2 needs a whole-disk restore/);
    const unknown = await restore({ kind: "file", path: join(allowed, "x.vmdk"), format: "vmdk" });
    expect(unknown.status).toBe(400);
  });

  it("refuses a relative path with 400 (it would land in the server's working directory)", async () => {
    for (const path of ["web.img", "./web.img", "restores/web.img"]) {
      const r = await restore({ kind: "file", path });
      expect(r.status, path).toBe(400);
      expect(r.body.error.message).toMatch(/absolute path/);
    }
  });

  it("refuses NUL and control characters, and .. segments, with 400", async () => {
    for (const path of [`${allowed}/a\u0000.img`, `${allowed}/a\n.img`, `${allowed}/../elsewhere/a.img`]) {
      const r = await restore({ kind: "file", path });
      expect(r.status, JSON.stringify(path)).toBe(400);
    }
  });

  it("refuses a path outside the allowed directories, or reaching out through a symlink, with 403", async () => {
    expect((await restore({ kind: "file", path: join(outside, "a.img") })).status).toBe(403);
    expect((await restore({ kind: "file", path: "/etc/cron.d/evil" })).status).toBe(403);
    // A directory inside the allowed one that is a link to elsewhere.
    await symlink(outside, join(allowed, "escape"));
    const viaDir = await restore({ kind: "file", path: join(allowed, "escape", "a.img") });
    expect(viaDir.status).toBe(403);
    expect(viaDir.body.error.message).toMatch(/outside the vault's restore directories/);
    // The target itself a link to a file elsewhere: a restore would write through it.
    await writeFile(join(outside, "victim"), "keep me");
    await symlink(join(outside, "victim"), join(allowed, "link.img"));
    const viaFile = await restore({ kind: "file", path: join(allowed, "link.img"), force: true });
    expect(viaFile.status).toBe(403);
    expect(await readFile(join(outside, "victim"), "utf8")).toBe("keep me");
  });

  it("refuses a directory target and a missing parent directory with 400", async () => {
    await mkdir(join(allowed, "sub"));
    const dir = await restore({ kind: "file", path: join(allowed, "sub") });
    expect(dir.status).toBe(400);
    expect(dir.body.error.message).toMatch(/is a directory/);
    expect((await restore({ kind: "file", path: `${allowed}/sub/` })).status).toBe(400);
    const missing = await restore({ kind: "file", path: join(allowed, "no-such-dir", "a.img") });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/does not exist/);
  });

  it("refuses to replace an existing file without force (409), and force without the contributor role (403)", async () => {
    const existing = join(allowed, "web.img");
    expect((await restore({ kind: "file", path: existing })).status).toBe(409);
    const principals = localVaultPaths(f.dir).principals;
    const operator = await writePrincipal(principals, "otto", ["operator"]);
    const contributor = await writePrincipal(principals, "carl", ["contributor"]);
    try {
      await writeFile(existing, "old");
      const denied = await restore({ kind: "file", path: existing, force: true }, operator);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/contributor/);
      // Even for a file that does not exist yet: force is what the role must allow.
      expect(
        (await restore({ kind: "file", path: join(allowed, "new.img"), force: true }, operator)).status,
      ).toBe(403);
      expect(await readFile(existing, "utf8")).toBe("old");
      const allowedForce = await restore({ kind: "file", path: existing, force: true }, contributor);
      expect(allowedForce.status, allowedForce.text).toBe(202);
      await f.runtime.settle();
      expect(await readFile(existing)).toEqual(seededBytes(3, 40_000));
    } finally {
      await erasePrincipal(principals, "otto");
      await erasePrincipal(principals, "carl");
    }
  });

  it("refuses S3 and EBS targets at once (400, no job) on a vault that is not on AWS", async () => {
    const before = await restoreJobs();
    const s3 = await restore({ kind: "s3", url: "s3://some-bucket/web.img" });
    expect(s3.status).toBe(400);
    expect(s3.body.error.message).toMatch(/needs a vault on AWS/);
    const ebs = await restore({ kind: "ebs-snapshot" });
    expect(ebs.status).toBe(400);
    expect(await restoreJobs()).toBe(before);
  });

  it("lets only a security admin change the restore directories, and audits the attempt", async () => {
    const operator = f.vault.as({ name: "otto", roles: ["operator", "contributor"] });
    await expect(operator.addRestoreDirectory(outside)).rejects.toBeInstanceOf(AccessDeniedError);
    expect((await f.vault.settings()).restoreDirectories).toEqual([allowed]);
    const audit = await f.vault.listAudit({ action: "restore-directories.add" });
    expect(audit.map((e) => [e.principal, e.outcome])).toContainEqual(["otto", "refused"]);
    const admin = f.vault.as({ name: "sam", roles: ["security-admin"] });
    await expect(admin.addRestoreDirectory("relative/dir")).rejects.toBeInstanceOf(ValidationError);
    await expect(admin.addRestoreDirectory(allowed)).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses new file restores once the directory is no longer allowed", async () => {
    await f.vault.removeRestoreDirectory(allowed);
    expect((await f.vault.settings()).restoreDirectories).toEqual([]);
    expect((await restore({ kind: "file", path: join(allowed, "late.img") })).status).toBe(403);
  });

  it("shows a failed job's error without the SDK's class names or stack frames", async () => {
    await f.vault.ctx.deps.catalog.createJob({
      id: "failed-restore",
      vaultId: f.vault.id,
      type: "restore",
      status: "failed",
      disk: "web",
      recoveryPoint: f.point,
      started: 1,
      ended: 2,
      bytesScanned: 0,
      bytesChanged: 0,
      bytesStored: 0,
      attempts: 1,
      error:
        "restore failed: S3ServiceException: Access Denied\n    at de_PutObjectCommand (node_modules/x.js:1:1)",
    });
    const job = await owner(f, "GET", "/restores/failed-restore");
    expect(job.body.error).toBe("restore failed: Access Denied");
    errors.push(job.text);
    const jobs = await owner(f, "GET", "/jobs?status=failed");
    expect(jobs.body.items[0].error).toBe("restore failed: Access Denied");
    errors.push(jobs.text);
  });

  it("names no SDK or runtime error class and no stack frame in any error body", () => {
    expect(errors.length).toBeGreaterThan(10);
    for (const body of errors) {
      expect(body).not.toMatch(/\b[A-Z][A-Za-z0-9]*(Exception|Error)\b/);
      expect(body).not.toMatch(/\n\s+at /);
    }
  });
});
