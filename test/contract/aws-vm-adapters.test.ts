import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ebsSnapshots, ebsVolumeSize } from "../../lib/adapters/aws/ebs-multi-snapshots.ts";
import { ssmGuestAgent } from "../../lib/adapters/aws/ssm-agent.ts";
import { ec2Client, ssmClient } from "../../lib/adapters/aws/vm-clients.ts";
import { GuestAgentError, SourceError, ValidationError } from "../../lib/errors.ts";
import { emulatorConfig } from "../helpers/aws.ts";

/**
 * The AWS VM adapters: EBS multi-volume snapshots (EC2 CreateSnapshots) and the SSM Run Command
 * guest agent, on the emulator where it implements the calls; where it does not (moto has no
 * DescribeInstanceInformation and runs no command, so every command "succeeds" with no output),
 * with the AWS behaviour injected into the SDK client, as the test names say.
 */

let ec2: EC2Client;
let instance: string;
let volumes: string[];

beforeAll(async () => {
  ec2 = ec2Client(emulatorConfig());
  const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
  const run = await ec2.send(
    new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }),
  );
  instance = run.Instances![0]!.InstanceId!;
  const root = run.Instances![0]!.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
  const data = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: "us-east-1a", Size: 2 }));
  await ec2.send(
    new AttachVolumeCommand({ InstanceId: instance, VolumeId: data.VolumeId!, Device: "/dev/sdf" }),
  );
  volumes = [...(root ? [root] : []), data.VolumeId!];
});

afterAll(() => ec2?.destroy());

describe("EBS multi-volume snapshots on the emulator", () => {
  it("snapshot every disk of the instance in one CreateSnapshots, read as ebs:// sources, deleted when released", async () => {
    const disks = volumes.map((v) => ({ source: `ec2://${instance}/${v}`, size: 0 }));
    const prepared = await ebsSnapshots({ client: ec2 }).prepare(disks);
    expect(prepared.fits(10_000)).toBe(true);
    const taken = await prepared.take();
    expect(taken.sources).toHaveLength(disks.length);
    const ids = taken.sources.map((s) => s.replace(/^ebs:\/\//, ""));
    const found = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }));
    expect((found.Snapshots ?? []).map((s) => s.VolumeId).sort()).toEqual([...volumes].sort());
    await taken.release();
    await expect(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))).rejects.toThrow();
  });

  it("size a volume from EC2, and refuse disks that are not volumes of one instance", async () => {
    expect(await ebsVolumeSize(`ec2://${instance}/${volumes.at(-1)}`, { client: ec2 })).toBe(2 * 2 ** 30);
    const provider = ebsSnapshots({ client: ec2 });
    await expect(provider.prepare([{ source: "/dev/sdf", size: 0 }])).rejects.toBeInstanceOf(SourceError);
    const two = [`ec2://${instance}/${volumes[0]}`, `ec2://i-0123456789abcdef0/${volumes[0]}`];
    await expect(provider.prepare(two.map((source) => ({ source, size: 0 })))).rejects.toThrow(
      /one instance/,
    );
  });
});

describe("SSM Run Command agent", () => {
  it("runs a script through SendCommand and GetCommandInvocation on the emulator", async () => {
    const client = ssmClient(emulatorConfig());
    try {
      const agent = ssmGuestAgent(instance, { client, mounts: ["/srv"] });
      const ran = await agent.exec({ command: "echo hello", timeoutMs: 30_000 });
      expect([ran.exitCode, ran.timedOut]).toEqual([0, false]);
    } finally {
      client.destroy();
    }
  });

  it("with injected SSM behaviour: ping says whether the instance is online", async () => {
    const client = new SSMClient({ region: "us-east-1" });
    const mock = mockClient(client);
    const statuses = ["Online", "ConnectionLost"];
    mock.on(DescribeInstanceInformationCommand).callsFake(async () => ({
      InstanceInformationList: [{ InstanceId: "i-1", PingStatus: statuses.shift() }],
    }));
    const agent = ssmGuestAgent("i-1", { client });
    await agent.ping(1000);
    await expect(agent.ping(1000)).rejects.toThrow(/ssm i-1: the SSM agent is ConnectionLost/);
  });

  it("with injected SSM behaviour: freezes only checked mount points, passes exit codes and output, reports a failed freeze", async () => {
    const client = new SSMClient({ region: "us-east-1" });
    const mock = mockClient(client);
    const sent: string[] = [];
    mock.on(SendCommandCommand).callsFake(async (input: { Parameters: { commands: string[] } }) => {
      sent.push(input.Parameters.commands[0]!);
      return { Command: { CommandId: `c-${sent.length}` } };
    });
    mock.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId: string }) => {
      const command = sent[Number(input.CommandId.slice(2)) - 1]!;
      const fails = command.includes("/broken");
      return {
        Status: fails ? "Failed" : "Success",
        ResponseCode: fails ? 1 : 0,
        StandardOutputContent: fails ? "" : "done",
        StandardErrorContent: fails ? "fsfreeze: /broken: not a mount point" : "",
      };
    });
    const agent = ssmGuestAgent("i-1", { client, mounts: ["/srv", "/var/lib/db"] });
    await expect(agent.freeze(["/"])).rejects.toBeInstanceOf(ValidationError);
    await expect(agent.freeze([])).rejects.toBeInstanceOf(ValidationError);
    expect(sent).toEqual([]);
    expect(await agent.freeze(["/srv", "/var/lib/db"])).toBe(2);
    expect(sent.at(-1)).toBe("set -e\nfsfreeze --freeze '/srv'\nfsfreeze --freeze '/var/lib/db'");
    await expect(agent.freeze(["/broken"])).rejects.toBeInstanceOf(GuestAgentError);
    const watchdog = await agent.armWatchdog(5000);
    expect(sent.at(-1)).toMatch(/^nohup sh -c 'sleep 5; fsfreeze --unfreeze '\\''\/srv'\\''/);
    await watchdog.disarm();
    expect(sent.at(-1)).toMatch(/^kill "\$\(cat \/run\/blockvault-thaw-/);
    await agent.thaw();
    expect(sent.at(-1)).toBe(
      "fsfreeze --unfreeze '/srv' 2>/dev/null || true; fsfreeze --unfreeze '/var/lib/db' 2>/dev/null || true",
    );
    const ran = await agent.exec({ command: "true", timeoutMs: 1000 });
    expect([ran.exitCode, ran.stdout]).toEqual([0, "done"]);
  });
});
