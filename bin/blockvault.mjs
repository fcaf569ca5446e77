#!/bin/sh
//bin/true; exec env GLIBC_TUNABLES="glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=268435456${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}" node "$0" "$@"
import * as nodeModule from "node:module";

// The two lines above are read by the shell when this file is run as a program (npx blockvault):
// the second is a comment to JavaScript, and to the shell it starts Node on this file with glibc's
// allocator told to keep freed memory (up to 256 MiB) for reuse and to serve blocks up to 4 MiB
// from its heaps. Sealing and opening blocks allocates and frees a cipher output of up to 128 KiB
// per block, thousands a second; by default glibc hands that memory back to the kernel and takes
// it again, one page fault per 4 KiB: 150,000-210,000 faults on a 2 GiB backup against 30,000
// tuned, ~6 % of its CPU time (see docs/design.md, "Memory allocator"). Settings of the caller's
// own come after these and win. Other C libraries ignore the variable.

// Node 24 comes with the project (the `node` devDependency puts it first on the PATH of npm
// scripts and npx). Refuse older runtimes plainly rather than failing on a missing API later.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `blockvault needs Node.js 24 or newer (this is ${process.version}); run it as "npx blockvault" from the project`,
  );
  process.exit(1);
}
// This entry point is plain JavaScript, so that an older Node reaches the check above (it cannot
// load TypeScript at all) and so that a cached start never loads the type stripper.
// Cache compiled (and type-stripped) modules on disk: start-up drops from about 200 ms to 60 ms,
// and each worker thread's from 150 ms to 60 ms, which matters for a one-second incremental.
// Worker threads inherit the setting through the environment.
const cache = nodeModule.enableCompileCache();
if (cache.directory) process.env.NODE_COMPILE_CACHE ??= cache.directory;
// Backups and restores hash and seal blocks in worker threads, which take about 70 ms to boot:
// start them now, while the rest of the CLI loads.
if (["backup", "restore", "demo"].includes(process.argv[2] ?? "")) {
  const { prestartWorkers } = await import("../lib/engine/workers/worker-pool.ts");
  prestartWorkers();
}
const { main } = await import("../lib/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
