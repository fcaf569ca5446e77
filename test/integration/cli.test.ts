import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliProcess } from "../helpers/cli.ts";
import { type CliVault, cliJson, expectRefused, makeCliVault } from "../helpers/cli-fixture.ts";
import { removeDir } from "../helpers/temp-dir.ts";

// Each restore and backup starts a worker pool; one worker starts fastest.
process.env.BLOCKVAULT_WORKERS = "1";

let fx: CliVault;
let root: string;
let vault: string;
let image: string;
let imageBytes: Buffer;
let pointId: string;
let DISK: string;

beforeAll(async () => {
  fx = await makeCliVault();
  ({ root, vault, image, imageBytes, pointId, disk: DISK } = fx);
});

afterAll(async () => {
  if (root) await removeDir(root);
});

const json = cliJson;

describe("machine-readable output", () => {
  it("backup --json reports the point, the disk and the byte counts", async () => {
    const r = (await json(["backup", image, "--disk", "other", "--vault", vault])) as Record<string, unknown>;
    expect(r.recoveryPointId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.disk).toBe("other");
    expect(r.bytesScanned).toBe(imageBytes.length);
    for (const field of ["bytesChanged", "bytesStored", "durationMs"]) {
      expect(typeof r[field], field).toBe("number");
      expect(r[field] as number, field).toBeGreaterThanOrEqual(0);
    }
    // Same content as disk vm1: every block is already stored.
    expect(r.blocksNew).toBe(0);
  });

  it("list --json and jobs --json parse and show the backups", async () => {
    const points = (await json(["list", "--vault", vault, "--disk", DISK])) as { id: string }[];
    expect(points.map((p) => p.id)).toEqual([pointId]);
    const jobs = (await json(["jobs", "--vault", vault, "--status", "completed"])) as { type: string }[];
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs.every((j) => j.type === "backup")).toBe(true);
  });

  it("errors are JSON on stderr with --json", async () => {
    const run = await runCli([
      "restore",
      "no-such-point",
      "--to",
      join(root, "x.img"),
      "--vault",
      vault,
      "--json",
    ]);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: "NOT_FOUND", name: "NotFoundError" } });
  });
});

describe("bad images", () => {
  it("a missing image", async () => {
    const missing = join(root, "missing.img");
    await expectRefused(vault, ["backup", missing, "--disk", DISK, "--vault", vault], {
      code: 7,
      message: new RegExp(`image not found: ${missing}`),
    });
  });

  it("a directory, and a path under a file", async () => {
    await expectRefused(vault, ["backup", root, "--disk", DISK, "--vault", vault], {
      code: 7,
      message: new RegExp(`image path is a directory.*${root}`),
    });
    await expectRefused(vault, ["backup", join(image, "x"), "--disk", DISK, "--vault", vault], {
      code: 7,
      message: /image not found: .*disk\.img\/x \(a parent of it is not a directory\)/,
    });
  });

  it("a disk whose size changed since its last recovery point", async () => {
    const grown = join(root, "grown.img");
    await writeFile(grown, Buffer.concat([imageBytes, Buffer.alloc(4096, 1)]));
    await expectRefused(vault, ["backup", grown, "--disk", DISK, "--vault", vault], {
      code: 7,
      message: new RegExp(`disk "${DISK}" was ${imageBytes.length} bytes at recovery point ${pointId}`),
    });
  });
});

describe("bad vaults and keyrings", () => {
  it("a directory that is not a vault, existing or not", async () => {
    const empty = join(root, "empty");
    await mkdir(empty);
    for (const dir of [empty, join(root, "nowhere")]) {
      const run = await runCli(["list", "--vault", dir]);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(new RegExp(`${dir} is not a blockvault vault`));
    }
    expect(await readdir(empty)).toEqual([]);
    expect(await readdir(root)).not.toContain("nowhere");
  });

  it("init on an existing vault keeps it (and its keyring) untouched", async () => {
    await expectRefused(vault, ["init", "--vault", vault], { code: 4, message: /already holds a vault/ });
  });

  it("another vault's keyring is a KEY error naming the vault", async () => {
    const other = join(root, "other-vault");
    expect((await runCli(["init", "--vault", other])).code).toBe(0);
    await expectRefused(vault, ["list", "--vault", vault, "--keyring", join(other, "keyring.json")], {
      code: 6,
      message: /cannot unwrap the key of vault cli/,
    });
  });

  it("a missing keyring is a KEY error naming the file", async () => {
    const none = join(root, "no-keyring.json");
    await expectRefused(vault, ["list", "--vault", vault, "--keyring", none], {
      code: 6,
      message: new RegExp(`no keyring at ${none}`),
    });
  });
});

describe("bad flags", () => {
  it("an unknown command or option", async () => {
    await expectRefused(vault, ["frobnicate", "--vault", vault], {
      code: 2,
      message: /unknown command "frobnicate"/,
    });
    await expectRefused(vault, ["list", "--vault", vault, "--bogus"], { code: 2, message: /--bogus/ });
  });

  it("a non-numeric --offset, and --offset without --length", async () => {
    const to = join(root, "range.img");
    const base = ["restore", pointId, "--to", to, "--vault", vault];
    await expectRefused(vault, [...base, "--offset", "12k", "--length", "10"], {
      code: 2,
      message: /--offset must be a non-negative integer, got "12k"/,
    });
    await expectRefused(vault, [...base, "--offset", "0"], {
      code: 2,
      message: /needs both --offset and --length/,
    });
    await expectRefused(vault, [...base, "--offset", "0", "--length", String(imageBytes.length + 1)], {
      code: 2,
      message: /outside the disk/,
    });
    expect(await readdir(root)).not.toContain("range.img");
  });

  it("a missing --disk or image", async () => {
    await expectRefused(vault, ["backup", image, "--vault", vault], { code: 2, message: /missing --disk/ });
    await expectRefused(vault, ["backup", "--disk", DISK, "--vault", vault], {
      code: 2,
      message: /missing IMAGE/,
    });
  });
});

describe("the executable", () => {
  it("exits with the error's code and message from a real process", () => {
    const run = runCliProcess(
      ["restore", "no-such-point", "--to", join(root, "p.img"), "--vault", vault],
      root,
    );
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/blockvault: recovery point no-such-point does not exist/);
  });

  it("demo --size-mib 8 runs end to end and exits 0", async () => {
    const run = await runCli(["demo", "--size-mib", "8"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/SHA-256 identical to the original/);
  }, 60_000);
});
