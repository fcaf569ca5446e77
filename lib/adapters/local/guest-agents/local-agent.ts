import type { GuestAgent } from "../../../ports/guest-agent.ts";
import { freezeLocal, thawLocal } from "./local-freeze.ts";
import { runShell } from "./run-shell.ts";
import { armThawWatchdog } from "./thaw-watchdog.ts";

/**
 * The {@link GuestAgent} of a VM whose disks this machine mounts: scripts run here with
 * `/bin/sh -c`, and the named mount points are frozen here with `fsfreeze` (each checked to be a
 * mount point of its own and not the root file system; see local-freeze.ts). It remembers what
 * it froze, which is what it thaws and what its watchdog is told to thaw.
 */
export function localAgent(mounts: readonly string[]): GuestAgent {
  let frozen: string[] = [];
  return {
    description: "local commands",
    ping: async () => {},
    exec: (script) => runShell(script),
    freeze: async (mountpoints) => {
      frozen = await freezeLocal(mountpoints);
      return frozen.length;
    },
    thaw: async () => {
      const thawed = await thawLocal(frozen);
      frozen = [];
      return thawed;
    },
    status: async () => (frozen.length > 0 ? "frozen" : "thawed"),
    armWatchdog: (windowMs) => armThawWatchdog({ kind: "local", mounts }, windowMs),
    close: async () => {},
  };
}
