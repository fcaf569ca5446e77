import { execFileSync, spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localAgent } from "../../lib/adapters/local/guest-agents/local-agent.ts";
import { qemuGuestAgent } from "../../lib/adapters/local/guest-agents/qemu-ga-agent.ts";
import { ValidationError } from "../../lib/errors.ts";
import { type LoopFs, makeLoopFs, requireLoopTools, runCleanups } from "../helpers/loop-fs.ts";
import { type RunningQemuGa, startQemuGa } from "../helpers/qemu-ga.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";

/**
 * The GuestAgent contract on the agents that run here: the real qemu-ga on a unix socket, and
 * local commands (fsfreeze). Only the test's own loop mount is ever frozen.
 */

const cleanup: (() => void)[] = [];
let root: string;
let fs: LoopFs;
let ga: RunningQemuGa;

beforeAll(async () => {
  requireLoopTools(["mkfs.ext4", "losetup", "mount", "umount", "fsfreeze", "qemu-ga"]);
  root = await tempDir("vm-agents");
  cleanup.push(() => void removeDir(root));
  fs = await makeLoopFs(root, "m0", 16, cleanup);
  ga = await startQemuGa(root, cleanup);
}, 60_000);

afterAll(() => {
  spawnSync("fsfreeze", ["--unfreeze", fs?.mount ?? "/nonexistent"]);
  runCleanups(cleanup);
});

/** Waits until `status` says thawed, at most `ms`; how long it took. */
async function thawedWithin(status: () => Promise<string>, ms: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if ((await status()) === "thawed") return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`still frozen after ${ms} ms`);
}

describe("qemu-ga", () => {
  it("pings, runs a script with its output and exit code, and times one out", async () => {
    const agent = qemuGuestAgent(ga.socket);
    await agent.ping(2000);
    const ran = await agent.exec({ command: "echo out; echo err >&2; exit 4", timeoutMs: 5000 });
    expect(ran).toMatchObject({ exitCode: 4, stdout: "out\n", stderr: "err\n", timedOut: false });
    const slow = await agent.exec({ command: "sleep 5", timeoutMs: 300 });
    expect([slow.exitCode, slow.timedOut]).toEqual([null, true]);
  });

  it("freezes exactly the named mount point, reports it, thaws it; a thaw with nothing frozen is 0", async () => {
    const agent = qemuGuestAgent(ga.socket);
    expect(await agent.freeze([fs.mount])).toBe(1);
    expect(await agent.status()).toBe("frozen");
    expect(await agent.thaw()).toBe(1);
    expect(await agent.status()).toBe("thawed");
    expect(await agent.thaw()).toBe(0);
  });

  it("refuses a list naming something that is not a mount point, leaving nothing frozen", async () => {
    const agent = qemuGuestAgent(ga.socket);
    const plain = join(root, "not-a-mount");
    await mkdir(plain);
    await expect(agent.freeze([fs.mount, plain])).rejects.toThrow(/froze 1 of the 2 mount points/);
    expect(await agent.status()).toBe("thawed");
  });

  it("its watchdog thaws when the window ends, and a disarmed one does not", async () => {
    const agent = qemuGuestAgent(ga.socket);
    const watchdog = await agent.armWatchdog(400);
    await agent.freeze([fs.mount]);
    const took = await thawedWithin(() => agent.status(), 5000);
    expect(took).toBeLessThan(3000);
    await watchdog.disarm();
    const disarmed = await agent.armWatchdog(300);
    await disarmed.disarm();
    await agent.freeze([fs.mount]);
    await sleep(800);
    expect(await agent.status()).toBe("frozen");
    await agent.thaw();
  });
});

describe("local commands", () => {
  it("freeze a mount point of this machine with fsfreeze and thaw it", async () => {
    const agent = localAgent([fs.mount]);
    expect(await agent.freeze([fs.mount])).toBe(1);
    expect(await agent.status()).toBe("frozen");
    expect(await agent.thaw()).toBe(1);
    const ran = await agent.exec({ command: "printf local", timeoutMs: 2000 });
    expect([ran.exitCode, ran.stdout]).toEqual([0, "local"]);
  });

  it("refuse a plain directory (fsfreeze would freeze the file system holding it) and the root file system mounted again", async () => {
    const agent = localAgent([]);
    const plain = join(fs.mount, "dir");
    await mkdir(plain);
    await expect(agent.freeze([plain])).rejects.toThrow(/not a mount point/);
    const rebound = join(root, "rebound-root");
    await mkdir(rebound);
    execFileSync("mount", ["--bind", "/", rebound]);
    try {
      await expect(agent.freeze([rebound])).rejects.toBeInstanceOf(ValidationError);
      await expect(agent.freeze([rebound])).rejects.toThrow(/root file system mounted again/);
    } finally {
      execFileSync("umount", [rebound]);
    }
    await expect(agent.freeze(["/"])).rejects.toThrow(/root file system/);
  });

  it("their watchdog thaws when the window ends", async () => {
    const agent = localAgent([fs.mount]);
    await agent.armWatchdog(300);
    await agent.freeze([fs.mount]);
    // fsfreeze has no status: a write that completes means the file system is thawed.
    const started = Date.now();
    execFileSync("sh", ["-c", `echo x > ${join(fs.mount, "probe")} && sync ${join(fs.mount, "probe")}`], {
      timeout: 10_000,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});
