import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { accessResources, parseAccess } from "../../infra/access-policies.ts";
import { packagedTemplate, STAGE_PARAMS, STAGES, serverlessPackage } from "./package-fixture.ts";
import { ACCOUNT, allows, REGION, Resolver, type Statement } from "./template.ts";

/** Defaults of serverless.yml's `params`, as the local stage is packaged with them. */
const DEFAULTS = { snapshotConcurrency: 10, fanOutConcurrency: 10 };

/**
 * The fan-out's concurrency limits, the HTTP API's access logs and the alert topic's encryption,
 * as packaged: with dev's parameters and with the defaults (local).
 */
describe.each(STAGES)("deployment settings (--stage %s)", (stage) => {
  let cfn: Resolver;
  const params = STAGE_PARAMS[stage];
  const expected = (name: keyof typeof DEFAULTS) => Number(params[name] ?? DEFAULTS[name]);

  beforeAll(async () => {
    cfn = new Resolver(await packagedTemplate(stage));
  }, 900_000);

  it("reserves the snapshot function's concurrency and lets the queue drive no more than that", () => {
    const reserved = cfn.resource("SnapshotLambdaFunction").Properties?.ReservedConcurrentExecutions;
    expect(Number(reserved)).toBe(expected("snapshotConcurrency"));
    const [[, mapping] = []] = cfn.ofType("AWS::Lambda::EventSourceMapping");
    const scaling = mapping?.Properties?.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
    expect(Number(scaling?.MaximumConcurrency)).toBe(expected("fanOutConcurrency"));
    expect(Number(scaling?.MaximumConcurrency)).toBeLessThanOrEqual(Number(reserved));
  });

  it("logs every HTTP API request, with its IAM caller, to a log group with retention", () => {
    const settings = cfn.resource("HttpApiStage").Properties?.AccessLogSettings as {
      DestinationArn: unknown;
      Format: string;
    };
    expect(settings.DestinationArn).toEqual({ "Fn::GetAtt": ["HttpApiLogGroup", "Arn"] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: "$context.requestId",
      caller: "$context.identity.userArn",
      routeKey: "$context.routeKey",
      status: "$context.status",
    });
    const group = cfn.resource("HttpApiLogGroup").Properties ?? {};
    expect(group.RetentionInDays).toBe(90);
  });

  it("encrypts the alert topic with a key that CloudWatch and this account's roles use only through SNS", () => {
    const topic = cfn.resource("AlertTopic").Properties ?? {};
    expect(topic.KmsMasterKeyId).toEqual({ "Fn::GetAtt": ["AlertKey", "Arn"] });
    const key = cfn.resource("AlertKey").Properties ?? {};
    expect(key.EnableKeyRotation).toBe(true);
    const policy = cfn.statements(key.KeyPolicy) as Statement[];
    const publish = (principal: string, context: Record<string, string>) =>
      ["kms:GenerateDataKey", "kms:Decrypt"].every((action) =>
        allows(policy, { action, resource: "*", principal, context }),
      );
    const sns = { "kms:ViaService": `sns.${REGION}.amazonaws.com`, "kms:CallerAccount": ACCOUNT };
    expect(cloudWatchAllowed(policy)).toBe(true);
    for (const role of ["StateMachineRole", "SnapshotRole", "LifecycleRole", "ApiRole"]) {
      const arn = cfn.getAtt(role, "Arn");
      expect(publish(arn, sns), role).toBe(true);
      expect(publish(arn, { "kms:CallerAccount": ACCOUNT }), `${role} outside SNS`).toBe(false);
      expect(publish(arn, { ...sns, "kms:CallerAccount": "999999999999" }), `${role} other account`).toBe(
        false,
      );
    }
  });
});

/**
 * Whether the key policy lets the CloudWatch service (the alarms) encrypt and decrypt: the
 * evaluator matches AWS principals only, so the service's statement is looked up directly.
 */
function cloudWatchAllowed(policy: Statement[]): boolean {
  return policy.some((s) => {
    const service = (s.Principal as { Service?: unknown } | undefined)?.Service;
    const actions = [s.Action].flat();
    return (
      s.Effect === "Allow" &&
      service === "cloudwatch.amazonaws.com" &&
      actions.includes("kms:GenerateDataKey*")
    );
  });
}

describe("external access parameters", () => {
  const defaults = {
    backupSources: "",
    restoreTargets: "",
    ebsSources: "true",
    ebsTargets: "true",
    ebsKmsKeys: "",
    copyRoles: "",
    copyWriters: "",
  };

  it("grants no S3 location and no KMS key unless asked", () => {
    const resources = accessResources(parseAccess(defaults));
    const statements = Object.values(resources).flatMap(
      (r) => (r.Properties as { PolicyDocument: { Statement: { Sid: string }[] } }).PolicyDocument.Statement,
    );
    expect(statements.map((s) => s.Sid).sort()).toEqual([
      "ReadEbsSnapshots",
      "ReadEbsSnapshots",
      "WriteEbsSnapshots",
    ]);
    const none = accessResources(parseAccess({ ...defaults, ebsSources: "false", ebsTargets: "false" }));
    expect(none).toEqual({});
  });

  it("refuses a bad value with an error naming the parameter", () => {
    const bad = (override: Record<string, string>) => () => parseAccess({ ...defaults, ...override });
    expect(bad({ backupSources: "acme-images" })).toThrow(/^parameter backupSources: "acme-images" is not/);
    expect(bad({ restoreTargets: "s3://acme-restores/*" })).toThrow(
      /parameter restoreTargets: .*no wildcards/,
    );
    expect(bad({ restoreTargets: "s3://Bad_Bucket/x" })).toThrow(/parameter restoreTargets/);
    expect(bad({ ebsSources: "yes" })).toThrow(/parameter ebsSources: expected true or false, got "yes"/);
    expect(bad({ copyRoles: "arn:aws:iam::123456789012:user/ana" })).toThrow(
      /^parameter copyRoles: "arn:aws:iam::123456789012:user\/ana" is not an IAM role ARN/,
    );
    expect(bad({ copyWriters: "*" })).toThrow(/^parameter copyWriters: "\*" is not an IAM role ARN/);
    expect(bad({ ebsKmsKeys: "alias/ebs" })).toThrow(
      /parameter ebsKmsKeys: "alias\/ebs" is not a KMS key ARN/,
    );
  });

  it("fails `serverless package` with that one line, not a stack trace", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "blockvault-bad-param-"));
    try {
      const result = await serverlessPackage("dev", root, { restoreTargets: "acme-restores" });
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(
        /parameter restoreTargets: "acme-restores" is not an s3:\/\/bucket\/prefix/,
      );
      expect(result.output).not.toMatch(/at .*access-policies\.ts/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 300_000);
});
