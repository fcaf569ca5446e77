import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import { GuestAgentError } from "../../errors.ts";
import type { VmScript } from "../../model.ts";
import type { GuestAgent, ScriptRun } from "../../ports/guest-agent.ts";
import { checkFreezeTargets } from "../../util/freeze-guard.ts";
import { awsErrorCode } from "./aws-errors.ts";
import type { AwsConfig } from "./clients.ts";
import { ssmClient } from "./vm-clients.ts";

const POLL_MS = 500;
/** How long freeze, thaw and watchdog commands may take on the instance. */
const COMMAND_TIMEOUT_MS = 60_000;
const DONE = new Set([
  "Success",
  "Failed",
  "Cancelled",
  "TimedOut",
  "Cancelling",
  "Undeliverable",
  "Terminated",
]);

/** Options of {@link ssmGuestAgent}: the client, or how to build one. */
export interface SsmAgentOptions {
  readonly client?: SSMClient;
  readonly config?: AwsConfig;
  /** The mount points its watchdog thaws (the VM's freeze list). */
  readonly mounts?: readonly string[];
}

/**
 * The {@link GuestAgent} of an EC2 instance through AWS Systems Manager Run Command
 * (`AWS-RunShellScript`, so Linux instances): scripts are `SendCommand`s whose result
 * `GetCommandInvocation` is polled for; the freeze and thaw are `fsfreeze` of the checked mount
 * points. The watchdog runs in the instance itself: a background timer started before the freeze
 * thaws the mount points when the window ends, whether or not blockvault is still alive, unless
 * the disarm kills it first.
 */
export function ssmGuestAgent(instanceId: string, options: SsmAgentOptions = {}): GuestAgent {
  const client = options.client ?? ssmClient(options.config ?? {});
  const run = (command: string, timeoutMs: number) => runCommand(client, instanceId, command, timeoutMs);
  const mounts = options.mounts ?? [];
  return {
    description: `ssm ${instanceId}`,
    ping: async () => {
      const info = await client
        .send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] }),
        )
        .catch((err: unknown) => {
          throw new GuestAgentError(`ssm ${instanceId}: ${awsErrorCode(err) ?? (err as Error).message}`);
        });
      const status = info.InstanceInformationList?.[0]?.PingStatus;
      if (status !== "Online")
        throw new GuestAgentError(`ssm ${instanceId}: the SSM agent is ${status ?? "not registered"}`);
    },
    exec: (script: VmScript) => run(script.command, script.timeoutMs),
    freeze: async (mountpoints) => {
      const targets = checkFreezeTargets(mountpoints);
      const done = await run(
        `set -e\n${targets.map((m) => `fsfreeze --freeze ${quote(m)}`).join("\n")}`,
        COMMAND_TIMEOUT_MS,
      );
      if (done.exitCode !== 0)
        throw new GuestAgentError(
          `ssm ${instanceId}: the freeze failed: ${done.stderr.trim() || done.stdout.trim()}`,
        );
      return targets.length;
    },
    thaw: async () => {
      const done = await run(thawScript(mounts), COMMAND_TIMEOUT_MS);
      if (done.exitCode !== 0)
        throw new GuestAgentError(`ssm ${instanceId}: the thaw failed: ${done.stderr.trim()}`);
      return mounts.length;
    },
    status: async () => "thawed",
    armWatchdog: async (windowMs) => {
      const pidFile = `/run/blockvault-thaw-${randomUUID()}.pid`;
      const seconds = Math.ceil(windowMs / 1000);
      const timer = `nohup sh -c 'sleep ${seconds}; ${thawScript(mounts).replaceAll("'", "'\\''")}' >/dev/null 2>&1 &\necho $! > ${pidFile}`;
      const armed = await run(timer, COMMAND_TIMEOUT_MS);
      if (armed.exitCode !== 0)
        throw new GuestAgentError(
          `ssm ${instanceId}: the thaw watchdog did not start: ${armed.stderr.trim()}`,
        );
      return {
        disarm: async () => {
          await run(`kill "$(cat ${pidFile})" 2>/dev/null; rm -f ${pidFile}`, COMMAND_TIMEOUT_MS);
        },
      };
    },
    close: async () => {
      if (!options.client) client.destroy();
    },
  };
}

/** Thaws each mount point, a file system that is not frozen counting as thawed. */
function thawScript(mounts: readonly string[]): string {
  return mounts.map((m) => `fsfreeze --unfreeze ${quote(m)} 2>/dev/null || true`).join("; ") || "true";
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** Sends one shell command and polls its invocation until it ends or `timeoutMs` passes. */
async function runCommand(
  client: SSMClient,
  instanceId: string,
  command: string,
  timeoutMs: number,
): Promise<ScriptRun> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const sent = await client
    .send(
      new SendCommandCommand({
        InstanceIds: [instanceId],
        DocumentName: "AWS-RunShellScript",
        Parameters: { commands: [command], executionTimeout: [String(Math.ceil(timeoutMs / 1000))] },
      }),
    )
    .catch((err: unknown) => {
      throw new GuestAgentError(
        `ssm ${instanceId}: SendCommand failed: ${awsErrorCode(err) ?? (err as Error).message}`,
      );
    });
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new GuestAgentError(`ssm ${instanceId}: SendCommand returned no command id`);
  for (;;) {
    const invocation = await client
      .send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
      .catch((err: unknown) => {
        // The invocation may not be registered yet right after SendCommand.
        if (awsErrorCode(err) === "InvocationDoesNotExist") return undefined;
        throw new GuestAgentError(
          `ssm ${instanceId}: GetCommandInvocation failed: ${awsErrorCode(err) ?? (err as Error).message}`,
        );
      });
    const status = invocation?.Status;
    if (status && DONE.has(status)) {
      const code = invocation?.ResponseCode;
      return {
        command,
        exitCode: status === "TimedOut" || code === undefined || code < 0 ? null : code,
        stdout: invocation?.StandardOutputContent ?? "",
        stderr: invocation?.StandardErrorContent ?? "",
        timedOut: status === "TimedOut",
        ms: ms(),
      };
    }
    if (ms() > timeoutMs)
      return {
        command,
        exitCode: null,
        stdout: "",
        stderr: `still ${status ?? "pending"}`,
        timedOut: true,
        ms: ms(),
      };
    await sleep(POLL_MS);
  }
}
