import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blankDisk, expectSameTree, mkExt, sfdisk } from "../helpers/disk-images.ts";
import { runTool } from "../helpers/disk-tools.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { type HttpFixture, startHttpFixture } from "../helpers/http-api-fixture.ts";
import { backupFile } from "../helpers/vault-ops.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const SLOW = 300_000;
let fx: HttpFixture;
let tree: string;
let pointId: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  tree = join(fx.root, "tree");
  await mkdir(tree);
  await writeTestTree(tree, true);
  const image = join(fx.root, "files.img");
  await blankDisk(image, 48);
  sfdisk(image, ["start=2048, type=83"]);
  mkExt(image, tree, "ext4", 40, 2048 * 512);
  pointId = (await backupFile(fx.owner, image, "files")).recoveryPointId;
}, SLOW);
afterAll(async () => {
  await fx?.close();
});

/** GET as the holder of `token`, the body as bytes. */
async function get(path: string, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${fx.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const q = (p: string) => `partition=1&path=${encodeURIComponent(p)}`;

describe("HTTP file-level recovery", () => {
  it("lists partitions and a directory for an operator; a reader is refused", async () => {
    const parts = await get(`/recovery-points/${pointId}/partitions`, fx.tokens.operator);
    expect(parts.status).toBe(200);
    expect(JSON.parse(parts.bytes.toString()).items).toEqual([
      expect.objectContaining({
        id: "1",
        scheme: "mbr",
        offset: 1048576,
        fileSystem: "ext4",
        browsable: true,
      }),
    ]);
    const listing = await get(`/recovery-points/${pointId}/files?${q("/etc/nginx")}`, fx.tokens.operator);
    expect(JSON.parse(listing.bytes.toString())).toEqual({
      partition: "1",
      path: "/etc/nginx",
      entries: [
        { name: "nginx.conf", type: "file", size: 20, mode: "0644", mtime: "2024-03-05T06:07:08.000Z" },
        { name: "sites", type: "directory", size: 1024, mode: "0755", mtime: "2024-03-05T06:07:08.000Z" },
      ],
    });
    const refused = await get(`/recovery-points/${pointId}/files?${q("/")}`, fx.tokens.reader);
    expect(refused.status).toBe(403);
  });

  it("streams a file with Content-Length, answers ranges with 206 and refuses unsatisfiable ones with 416", async () => {
    const want = await readFile(join(tree, "one-mib.bin"));
    const url = `/recovery-points/${pointId}/files/content?${q("/one-mib.bin")}`;
    const whole = await get(url, fx.tokens.operator);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-length")).toBe(String(want.length));
    expect(whole.bytes.equals(want)).toBe(true);
    const part = await get(url, fx.tokens.operator, { range: "bytes=1000-1999" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000-1999/${want.length}`);
    expect(part.bytes.equals(want.subarray(1000, 2000))).toBe(true);
    const suffix = await get(url, fx.tokens.operator, { range: "bytes=-10" });
    expect(suffix.bytes.equals(want.subarray(want.length - 10))).toBe(true);
    const outside = await get(url, fx.tokens.operator, { range: `bytes=${want.length}-` });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${want.length}`);
  });

  it(
    "a missing path is 404; a directory comes as a tar that GNU tar unpacks into the same tree",
    async () => {
      const missing = await get(
        `/recovery-points/${pointId}/files/content?${q("/nope/x")}`,
        fx.tokens.operator,
      );
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.bytes.toString()).error.message).toContain("/nope/x");
      const tar = await get(`/recovery-points/${pointId}/files/content?${q("/etc")}`, fx.tokens.operator);
      expect(tar.status).toBe(200);
      expect(tar.headers.get("content-type")).toBe("application/x-tar");
      const archive = join(fx.root, "etc.tar");
      await writeFile(archive, tar.bytes);
      const out = join(fx.root, "untarred");
      await mkdir(out);
      runTool("tar", ["-xpf", archive, "-C", out]);
      await expectSameTree(join(tree, "etc"), join(out, "etc"));
    },
    SLOW,
  );

  it("audits who read which file of which point", async () => {
    await get(`/recovery-points/${pointId}/files/content?${q("/etc/nginx/nginx.conf")}`, fx.tokens.operator);
    const audit = await fx.owner.listAudit({ action: "files.get" });
    expect(audit.at(-1)).toMatchObject({
      principal: "otto",
      target: pointId,
      outcome: "succeeded",
      detail: { partition: "1", path: "/etc/nginx/nginx.conf" },
    });
  });
});
