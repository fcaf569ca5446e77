import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SocketReader } from "../../lib/nbd/socket-reader.ts";
import { runCli } from "../helpers/cli.ts";
import { cliJson } from "../helpers/cli-fixture.ts";
import { blankDisk, mkExt, sfdisk } from "../helpers/disk-images.ts";
import { runTool } from "../helpers/disk-tools.ts";
import { writeTestTree } from "../helpers/file-trees.ts";
import { type RunningExport, startExport } from "../helpers/nbd-export.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

process.env.BLOCKVAULT_WORKERS = "1";
const SLOW = 300_000;
let root: string;
let vault: string;
let pointId: string;
let restored: Buffer;
let exp: RunningExport;

beforeAll(async () => {
  root = await tempDir("nbd");
  vault = join(root, "vault");
  const tree = join(root, "tree");
  await mkdir(tree);
  await writeTestTree(tree);
  const image = join(root, "disk.img");
  await blankDisk(image, 96);
  sfdisk(image, ["start=2048, type=83"]);
  mkExt(image, tree, "ext4", 90, 2048 * 512);
  await cliJson(["init", "--vault", vault, "--name", "nbd"]);
  pointId = (
    (await cliJson(["backup", image, "--disk", "vm1", "--vault", vault])) as { recoveryPointId: string }
  ).recoveryPointId;
  const restoredPath = join(root, "restored.img");
  const r = await runCli(["restore", pointId, "--to", restoredPath, "--vault", vault]);
  expect(r.code, r.stderr).toBe(0);
  restored = await readFile(restoredPath);
  exp = await startExport(vault, pointId);
}, SLOW);
afterAll(async () => {
  await exp?.stop();
  if (root) await removeDir(root);
});

/** A raw NBD client for what the tools never send: writes, bad ranges. */
async function rawSession(port: number) {
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const input = new SocketReader(socket);
  const hello = await input.take(18);
  expect(hello!.toString("latin1", 0, 16)).toBe("NBDMAGICIHAVEOPT");
  socket.write(Buffer.from([0, 0, 0, 3]));
  const opt = Buffer.alloc(16);
  opt.write("IHAVEOPT", 0, "latin1");
  opt.writeUInt32BE(1, 8); // NBD_OPT_EXPORT_NAME, the default export
  socket.write(opt);
  const info = await input.take(10);
  const request = async (type: number, offset: number, length: number, payload = Buffer.alloc(0)) => {
    const r = Buffer.alloc(28);
    r.writeUInt32BE(0x25609513, 0);
    r.writeUInt16BE(type, 6);
    r.writeBigUInt64BE(0xabcdn, 8);
    r.writeBigUInt64BE(BigInt(offset), 16);
    r.writeUInt32BE(length, 24);
    socket.write(Buffer.concat([r, payload]));
    const reply = (await input.take(16))!;
    return { error: reply.readUInt32BE(4), cookie: reply.readBigUInt64BE(8), input };
  };
  return { socket, size: Number(info!.readBigUInt64BE(0)), flags: info!.readUInt16BE(8), request };
}

describe("blockvault export --nbd", () => {
  it("nbdinfo sees a read-only export of the point's size; nbd-client lists it", () => {
    const info = JSON.parse(runTool("nbdinfo", ["--json", exp.url])) as {
      exports: { "export-size": number; is_read_only: boolean; uri: string; description: string }[];
    };
    expect(info.exports[0]).toMatchObject({
      "export-size": restored.length,
      is_read_only: true,
      uri: exp.url,
      description: `blockvault recovery point ${pointId}`,
    });
    expect(runTool("nbd-client", ["-l", "127.0.0.1", String(exp.port)])).toContain(pointId);
  });

  it(
    "nbdcopy and qemu-img convert read the whole point, byte for byte what restore wrote",
    async () => {
      const copied = join(root, "nbdcopy.img");
      runTool("nbdcopy", [exp.url, copied]);
      expect((await readFile(copied)).equals(restored)).toBe(true);
      const converted = join(root, "qemu.img");
      runTool("qemu-img", ["convert", "-f", "raw", "-O", "raw", exp.url, converted]);
      expect((await readFile(converted)).equals(restored)).toBe(true);
    },
    SLOW,
  );

  it(
    "refuses writes, trims and zeroing with EPERM and out-of-range reads with EINVAL, then still serves reads",
    async () => {
      const s = await rawSession(exp.port);
      try {
        expect(s.size).toBe(restored.length);
        expect(s.flags & 2).toBe(2); // NBD_FLAG_READ_ONLY
        expect((await s.request(1, 0, 4096, Buffer.alloc(4096, 0xff))).error).toBe(1);
        expect((await s.request(4, 0, 4096)).error).toBe(1);
        expect((await s.request(6, 0, 4096)).error).toBe(1);
        expect((await s.request(0, restored.length - 10, 4096)).error).toBe(22);
        const read = await s.request(0, 1024 * 1024, 4096);
        expect(read.error).toBe(0);
        expect(read.cookie).toBe(0xabcdn);
        expect(
          (await read.input.take(4096))!.equals(restored.subarray(1024 * 1024, 1024 * 1024 + 4096)),
        ).toBe(true);
      } finally {
        s.socket.destroy();
      }
      const again = join(root, "after-refusals.img");
      runTool("qemu-img", ["convert", "-f", "raw", "-O", "raw", exp.url, again]);
      expect((await readFile(again)).equals(restored)).toBe(true);
    },
    SLOW,
  );

  it("a client that sends garbage is dropped, the server keeps serving others", async () => {
    const socket = connect(exp.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.resume();
    socket.write(Buffer.alloc(64, 0x41));
    await new Promise((resolve) => socket.once("close", resolve));
    expect(runTool("nbdinfo", ["--size", exp.url]).trim()).toBe(String(restored.length));
  });

  it("attaches through the kernel's nbd driver and mounts the partition, where this kernel has one", async () => {
    // The kernel module cannot be loaded on every host (containers without modules); the
    // userspace clients above are the mandatory proof, this one is an extra where /dev/nbd0 exists.
    if (!existsSync("/dev/nbd0")) {
      expect(existsSync("/sys/module/nbd")).toBe(false);
      return;
    }
    runTool("nbd-client", ["127.0.0.1", String(exp.port), "/dev/nbd0", "-N", pointId, "-readonly"]);
    const mnt = join(root, "mnt");
    await mkdir(mnt);
    try {
      runTool("mount", ["-o", "ro", "/dev/nbd0p1", mnt]);
      expect(await readFile(join(mnt, "etc", "nginx", "nginx.conf"), "utf8")).toBe("worker_processes 4;\n");
      runTool("umount", [mnt]);
    } finally {
      runTool("nbd-client", ["-d", "/dev/nbd0"]);
    }
  });

  it("refuses a non-loopback address, audits the export, and stops on SIGTERM", async () => {
    const open = await runCli(["export", pointId, "--nbd", "0.0.0.0:0", "--vault", vault]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/not loopback/);
    const audit = (await cliJson(["audit", "--action", "point.export", "--vault", vault])) as {
      target: string;
      detail: { address: string };
    }[];
    expect(audit.at(-1)).toMatchObject({ target: pointId, detail: { address: `127.0.0.1:${exp.port}` } });
    const other = await startExport(vault, pointId);
    expect(await other.stop()).toBe(0);
  });
});
