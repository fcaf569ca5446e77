/*
 * The thaw watchdog's process (started by thaw-watchdog.ts). It reads one line of JSON, the
 * `ThawSpec` and the window, from standard input, says "armed", and then thaws when the window
 * ends or when standard input closes without "disarm" (its parent died). A disarm ends it
 * without thawing. It retries the thaw for a while: the parent's own connection to qemu-ga may
 * still be closing when it runs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { thawLocal } from "./local-freeze.ts";
import { QemuGaClient } from "./qemu-ga-client.ts";
import type { ThawSpec } from "./thaw-watchdog.ts";

const THAW_ATTEMPTS = 60;

let input = "";
let config: { spec: ThawSpec; windowMs: number } | undefined;
let thawing = false;

async function thaw(): Promise<void> {
  if (thawing || !config) return;
  thawing = true;
  const { spec } = config;
  for (let attempt = 0; attempt < THAW_ATTEMPTS; attempt++) {
    try {
      if (spec.kind === "qemu-ga")
        await new QemuGaClient(spec.socket).call("guest-fsfreeze-thaw", undefined, 10_000);
      else await thawLocal(spec.mounts);
      break;
    } catch {
      await sleep(500);
    }
  }
  process.exit(0);
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  input += chunk;
  if (!config) {
    const nl = input.indexOf("\n");
    if (nl < 0) return;
    config = JSON.parse(input.slice(0, nl)) as { spec: ThawSpec; windowMs: number };
    input = input.slice(nl + 1);
    setTimeout(() => void thaw(), config.windowMs);
    process.stdout.write("armed\n");
  }
  if (input.includes("disarm") && !thawing) process.exit(0);
});
process.stdin.on("end", () => void thaw());
process.stdin.on("close", () => void thaw());
