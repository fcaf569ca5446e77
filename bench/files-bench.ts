import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, rm, truncate, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { openFileSource } from "../lib/adapters/local/sources/file-source.ts";
import { initLocalVault } from "../lib/compose/local.ts";
import { extract } from "../lib/files/extract.ts";
import { pointSource } from "../lib/files/point-files.ts";
import { createNbdServer } from "../lib/nbd/nbd-server.ts";
import { createSampleImage } from "../lib/sample-image.ts";
import type { Vault } from "../lib/vault.ts";

/**
 * `npm run bench:files`: what file-level recovery and the NBD export cost. (1) Listing `/` of an
 * ext4 partition inside an 8 GiB point, then extracting a 1 MiB file: pack bytes fetched and wall
 * time, against the target of at most 8 MiB fetched. (2) `qemu-img convert nbd://…` of a 2 GiB
 * point against `restore` of the same point: throughput, against the target of at least half.
 * It measures and reports; it asserts nothing. Local vault only.
 */

const MiB = 1024 * 1024;
const execFileAsync = promisify(execFile);
const work = process.env.BLOCKVAULT_BENCH_DIR ?? "/tmp/blockvault-files-bench";
const log = (line: string) => console.log(line);

async function backUp(vault: Vault, image: string, disk: string): Promise<string> {
  const source = await openFileSource(image);
  try {
    return (await vault.backup(source, { disk })).recoveryPointId;
  } finally {
    await source.close();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

/** An 8 GiB disk: one MBR partition of ext4 holding a tree, 256 MiB of other data and a 1 MiB file. */
async function eightGiBImage(dir: string): Promise<string> {
  const tree = join(dir, "tree");
  await mkdir(join(tree, "etc", "nginx"), { recursive: true });
  await writeFile(join(tree, "etc", "nginx", "nginx.conf"), "worker_processes 4;\n");
  for (let i = 0; i < 200; i++) await writeFile(join(tree, "etc", `file-${i}.conf`), `setting ${i}\n`);
  const filler = join(dir, "filler.img");
  await createSampleImage(filler, 256 * MiB, 7);
  execFileSync("cp", [filler, join(tree, "data.bin")]);
  // Incompressible, so the bytes fetched for it are its whole size and not a compressed run.
  await writeFile(join(tree, "one-mib.bin"), randomBytes(MiB));
  const image = join(dir, "disk-8g.img");
  await writeFile(image, "");
  await truncate(image, 8 * 1024 * MiB);
  execFileSync("sfdisk", ["--quiet", image], { input: "label: dos\nstart=2048, type=83\n" });
  execFileSync("mke2fs", [
    "-q",
    "-F",
    "-t",
    "ext4",
    "-d",
    tree,
    "-E",
    `offset=${MiB}`,
    image,
    `${8 * 1024 * 1024 - 1024}k`,
  ]);
  return image;
}

async function filesBench(vault: Vault, dir: string): Promise<void> {
  const image = await eightGiBImage(dir);
  const pointId = await backUp(vault, image, "files");
  const [listing, listMs] = await timed(async () => {
    const files = await vault.openPointFiles(pointId, { action: "files.list", path: "/" });
    const { fs } = await files.mount();
    const entries = await fs.list("/");
    return { files, fs, entries };
  });
  const afterList = listing.files.stats.bytesFetched;
  const dest = join(dir, "one-mib.out");
  const [, getMs] = await timed(() => extract(listing.fs, "/one-mib.bin", dest));
  const afterGet = listing.files.stats.bytesFetched;
  await listing.files.close();
  log(
    `8 GiB point, ext4 partition: ls / (${listing.entries.length} entries) fetched ${(afterList / MiB).toFixed(2)} MiB in ${listMs.toFixed(0)} ms (open, tables, mount, list)`,
  );
  log(
    `  then get /one-mib.bin fetched ${((afterGet - afterList) / MiB).toFixed(2)} MiB more in ${getMs.toFixed(0)} ms; total ${(afterGet / MiB).toFixed(2)} MiB (target: at most 8 MiB)`,
  );
}

async function nbdBench(vault: Vault, dir: string): Promise<void> {
  const image = join(dir, "disk-2g.img");
  await createSampleImage(image, 2048 * MiB, 3);
  const pointId = await backUp(vault, image, "nbd");
  const restored = join(dir, "restored.img");
  const [, restoreMs] = await timed(() => vault.restoreToFile(pointId, restored));
  await rm(restored, { force: true });
  const reader = await vault.openPointExport(pointId, "127.0.0.1:0", {
    cacheBytes: 256 * MiB,
    workers: true,
  });
  const server = createNbdServer({
    name: pointId,
    description: "bench",
    source: pointSource(reader),
    preferredBlockSize: reader.blockSize,
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const converted = join(dir, "converted.img");
  // Asynchronously: the server answering qemu-img runs on this process's event loop.
  const [, nbdMs] = await timed(() =>
    execFileAsync("qemu-img", [
      "convert",
      "-f",
      "raw",
      "-O",
      "raw",
      `nbd://127.0.0.1:${port}/${pointId}`,
      converted,
    ]),
  );
  server.close();
  reader.close();
  await rm(converted, { force: true });
  const rate = (ms: number) => (2048 / (ms / 1000)).toFixed(0);
  log(
    `2 GiB point: restore ${(restoreMs / 1000).toFixed(1)} s (${rate(restoreMs)} MiB/s); qemu-img convert nbd:// ${(nbdMs / 1000).toFixed(1)} s (${rate(nbdMs)} MiB/s) = ${((restoreMs / nbdMs) * 100).toFixed(0)} % of restore's throughput (target: at least 50 %)`,
  );
}

const dir = join(work, "run");
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const vault = await initLocalVault(join(dir, "vault"), { name: "files-bench" });
try {
  await filesBench(vault, dir);
  await nbdBench(vault, dir);
  log(
    "Note: one run on a shared machine (other jobs may be running): read the times as rough; bytes fetched do not depend on load.",
  );
} finally {
  await vault.close();
  await rm(dir, { recursive: true, force: true });
}
