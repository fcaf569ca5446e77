#!/usr/bin/env node
// Node 24 comes with the project (the `node` devDependency puts it first on the PATH of npm
// scripts and npx). Refuse older runtimes plainly rather than failing on a missing API later.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `blockvault needs Node.js 24 or newer (this is ${process.version}); run it as "npx blockvault" from the project`,
  );
  process.exit(1);
}
const { main } = await import("../lib/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
