import { beforeAll, describe, expect, it } from "vitest";
import { ATTR, INDEX } from "../../lib/adapters/aws/dynamo/keys.ts";
import { METRICS } from "../../lib/metrics.ts";
import { packagedTemplate, STAGE_PARAMS, STAGES } from "./package-fixture.ts";
import {
  ACCOUNT,
  actionsOf,
  allows,
  applies,
  decide,
  glob,
  REGION,
  type Request,
  Resolver,
  resourcesOf,
  type Statement,
  type Template,
} from "./template.ts";

/**
 * What the packaged template lets each function do, evaluated as IAM would: the snapshot function
 * writes packs and generates data keys but cannot delete anything or unwrap a pack data key; only
 * the restore and purge paths (lifecycle, api) can. Plus the vault's protections: bucket, table,
 * key, queue, alarms, API authorization.
 */
describe.each(STAGES)("packaged template (--stage %s)", (stage) => {
  let template: Template;
  let cfn: Resolver;
  let bucket: string;
  let keyArn: string;
  let tableArn: string;

  const FUNCTIONS = {
    scheduler: "SchedulerLambdaFunction",
    snapshot: "SnapshotLambdaFunction",
    commit: "CommitLambdaFunction",
    lifecycle: "LifecycleLambdaFunction",
    api: "ApiLambdaFunction",
  } as const;
  type Fn = keyof typeof FUNCTIONS;
  const WRITERS: Fn[] = ["snapshot", "scheduler"];
  const RESTORERS: Fn[] = ["lifecycle", "api"];

  const role = (fn: Fn) => cfn.roleOfFunction(FUNCTIONS[fn]);
  const roleArn = (fn: Fn) => cfn.getAtt(role(fn), "Arn");
  const iam = (fn: Fn) => cfn.roleStatements(role(fn));
  const can = (fn: Fn, request: Request) => allows(iam(fn), request);
  const object = (key: string) => `arn:aws:s3:::${bucket}/${key}`;
  const keyPolicy = (): Statement[] => cfn.statements(cfn.resource("VaultKey").Properties?.KeyPolicy);

  /**
   * Whether `fn` may call KMS `action` on the vault key with `context`, as KMS decides: an explicit
   * Deny in the key policy or the role's policies refuses; otherwise the key policy must allow the
   * role itself, or allow the account (delegating to IAM) while the role's policies allow it.
   */
  function kms(fn: Fn, action: string, context: Record<string, string>, identity = iam(fn)): boolean {
    const request = { action, resource: keyArn, context };
    const asRole = { ...request, resource: "*", principal: roleArn(fn) };
    const key = keyPolicy();
    if (decide(key, asRole) === "explicit-deny" || decide(identity, request) === "explicit-deny")
      return false;
    if (allows(key, asRole)) return true;
    const accountRoot = `arn:aws:iam::${ACCOUNT}:root`;
    return allows(key, { ...request, resource: "*", principal: accountRoot }) && allows(identity, request);
  }
  /** The request context of a KMS call for a data key of the vault (KeyService contexts). */
  const keyContext = (purpose: string) => ({
    "kms:EncryptionContext:vault": "v1",
    "kms:EncryptionContext:purpose": purpose,
  });
  const packKey = keyContext("pack-data");
  const dedupKey = keyContext("dedup-key");
  const throughS3 = (arn: string) => ({
    "kms:ViaService": `s3.${REGION}.amazonaws.com`,
    "kms:EncryptionContext:aws:s3:arn": arn,
  });

  beforeAll(async () => {
    template = await packagedTemplate(stage);
    cfn = new Resolver(template);
    bucket = cfn.ref("VaultBucket");
    keyArn = cfn.getAtt("VaultKey", "Arn");
    tableArn = cfn.getAtt("CatalogTable", "Arn");
  }, 900_000);

  describe("function roles", () => {
    it("gives every function a role of its own, written in the template, with no managed policies", () => {
      const roles = Object.keys(FUNCTIONS).map((fn) => role(fn as Fn));
      expect(new Set(roles).size).toBe(5);
      expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
      for (const id of roles) {
        expect(cfn.resource(id).Properties?.ManagedPolicyArns).toBeUndefined();
        const trust = cfn.statements(cfn.resource(id).Properties?.AssumeRolePolicyDocument);
        expect(trust.map((s) => s.Principal)).toEqual([{ Service: "lambda.amazonaws.com" }]);
      }
    });

    it("grants no wildcard service actions, and Resource * only under a condition", () => {
      for (const fn of Object.keys(FUNCTIONS) as Fn[]) {
        for (const s of iam(fn)) {
          expect(s.Effect, `${fn} ${s.Sid}`).toBe("Allow");
          for (const action of actionsOf(s)) expect(action, `${fn} ${s.Sid}`).not.toMatch(/\*/);
          if (resourcesOf(s).includes("*")) expect(s.Condition, `${fn} ${s.Sid} on *`).toBeDefined();
        }
      }
    });

    it("traces every function with X-Ray, writing trace segments in the stack's region only", () => {
      for (const fn of Object.keys(FUNCTIONS) as Fn[]) {
        expect(cfn.resource(FUNCTIONS[fn]).Properties?.TracingConfig, fn).toEqual({ Mode: "Active" });
        for (const action of ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]) {
          const write = (region: string) => ({
            action,
            resource: "*",
            context: { "aws:RequestedRegion": region },
          });
          expect(can(fn, write(REGION)), `${fn} ${action}`).toBe(true);
          expect(can(fn, write("eu-west-1")), `${fn} ${action} elsewhere`).toBe(false);
        }
      }
    });

    it("lets each function write its own logs and no other function's", () => {
      for (const fn of Object.keys(FUNCTIONS) as Fn[]) {
        for (const other of Object.keys(FUNCTIONS) as Fn[]) {
          const name = cfn.ref(FUNCTIONS[other]);
          const stream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${name}:log-stream:x`;
          expect(can(fn, { action: "logs:PutLogEvents", resource: stream }), `${fn} -> ${other}`).toBe(
            fn === other,
          );
        }
      }
    });
  });

  describe("snapshot (writer)", () => {
    it("writes and reads vault objects but can delete none", () => {
      expect(can("snapshot", { action: "s3:PutObject", resource: object("packs/ab/0123") })).toBe(true);
      expect(can("snapshot", { action: "s3:GetObject", resource: object("config") })).toBe(true);
      expect(can("snapshot", { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}` })).toBe(true);
      for (const action of [
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:PutObjectRetention",
        "s3:PutBucketPolicy",
      ]) {
        expect(can("snapshot", { action, resource: object("packs/ab/0123") }), action).toBe(false);
        expect(can("snapshot", { action, resource: `arn:aws:s3:::${bucket}` }), action).toBe(false);
      }
      expect(
        iam("snapshot")
          .flatMap(actionsOf)
          .filter((a) => glob(a, "s3:DeleteObject", true)),
      ).toEqual([]);
    });

    it("reads catalog items and writes none itself: every write goes through the commit function", () => {
      for (const action of ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"]) {
        expect(can("snapshot", { action, resource: tableArn }), action).toBe(true);
      }
      expect(can("snapshot", { action: "dynamodb:Query", resource: `${tableArn}/index/${INDEX.lsi2}` })).toBe(
        true,
      );
      for (const action of [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteTable",
      ]) {
        expect(can("snapshot", { action, resource: tableArn }), action).toBe(false);
      }
      const commit = cfn.getAtt(FUNCTIONS.commit, "Arn");
      expect(can("snapshot", { action: "lambda:InvokeFunction", resource: commit })).toBe(true);
      for (const fn of ["api", "lifecycle", "scheduler"] as const) {
        const other = cfn.getAtt(FUNCTIONS[fn], "Arn");
        expect(can("snapshot", { action: "lambda:InvokeFunction", resource: other }), fn).toBe(false);
      }
      const env = cfn.resource(FUNCTIONS.snapshot).Properties?.Environment as {
        Variables: Record<string, unknown>;
      };
      expect(env.Variables.BLOCKVAULT_COMMIT_FUNCTION).toBe(cfn.ref(FUNCTIONS.commit));
    });
  });

  describe("commit (the writer's gate)", () => {
    it("writes catalog items, deletes none, and touches no object, key or queue", () => {
      for (const action of [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]) {
        expect(can("commit", { action, resource: tableArn }), action).toBe(true);
      }
      expect(can("commit", { action: "dynamodb:DeleteItem", resource: tableArn })).toBe(false);
      for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
        expect(can("commit", { action, resource: object("packs/ab/0123") }), action).toBe(false);
      for (const action of ["kms:Decrypt", "kms:GenerateDataKey"])
        expect(kms("commit", action, packKey), action).toBe(false);
      expect(can("commit", { action: "sqs:SendMessage", resource: cfn.getAtt("FanOutQueue", "Arn") })).toBe(
        false,
      );
    });

    it("generates data keys and unwraps the dedup key, never a pack data key", () => {
      expect(kms("snapshot", "kms:GenerateDataKey", packKey)).toBe(true);
      expect(kms("snapshot", "kms:Decrypt", dedupKey)).toBe(true);
      expect(kms("snapshot", "kms:Decrypt", packKey)).toBe(false);
      expect(kms("snapshot", "kms:Decrypt", {})).toBe(false);
      expect(kms("snapshot", "kms:ReEncryptFrom", packKey)).toBe(false);
      expect(kms("snapshot", "kms:CreateGrant", {})).toBe(false);
    });

    it("reads the bucket's SSE-KMS objects through S3, and nothing else through S3", () => {
      expect(kms("snapshot", "kms:Decrypt", throughS3(`arn:aws:s3:::${bucket}`))).toBe(true);
      expect(kms("snapshot", "kms:Decrypt", throughS3("arn:aws:s3:::someone-elses-bucket"))).toBe(false);
      // A pack data key's context without S3 in between stays refused.
      expect(
        kms("snapshot", "kms:Decrypt", {
          ...packKey,
          "kms:EncryptionContext:aws:s3:arn": `arn:aws:s3:::${bucket}`,
        }),
      ).toBe(false);
    });

    it("holds kms:Decrypt of the vault key in IAM only pinned to the dedup-key context or to S3 reading the vault bucket", () => {
      for (const fn of WRITERS) {
        const decrypts = iam(fn).filter((s) => actionsOf(s).some((a) => glob(a, "kms:Decrypt", true)));
        expect(decrypts.length, fn).toBeGreaterThan(0);
        for (const s of decrypts) {
          const c = s.Condition ?? {};
          if (!resourcesOf(s).some((r) => glob(r, keyArn, false))) {
            // Another key (an encrypted EBS snapshot's, a stack parameter): through EBS only.
            expect(c.StringEquals?.["kms:ViaService"], `${fn} ${s.Sid}`).toBe(`ec2.${REGION}.amazonaws.com`);
            continue;
          }
          const dedup = c.StringEquals?.["kms:EncryptionContext:purpose"] === "dedup-key";
          const viaS3 =
            c.StringEquals?.["kms:ViaService"] === `s3.${REGION}.amazonaws.com` &&
            [c.StringLike?.["kms:EncryptionContext:aws:s3:arn"]]
              .flat()
              .every((arn) => typeof arn === "string" && arn.startsWith(`arn:aws:s3:::${bucket}`));
          expect(dedup || viaS3, `${fn} ${s.Sid}: ${JSON.stringify(c)}`).toBe(true);
        }
      }
    });

    it("reads EBS snapshots but cannot write one", () => {
      const snapshot = `arn:aws:ec2:${REGION}::snapshot/snap-0123`;
      for (const action of ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"]) {
        expect(can("snapshot", { action, resource: snapshot }), action).toBe(true);
      }
      expect(can("snapshot", { action: "ebs:StartSnapshot", resource: snapshot })).toBe(false);
      expect(can("snapshot", { action: "ebs:PutSnapshotBlock", resource: snapshot })).toBe(false);
    });

    it("consumes the fan-out queue, publishes alerts and blockvault metrics", () => {
      const queue = cfn.getAtt("FanOutQueue", "Arn");
      for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]) {
        expect(can("snapshot", { action, resource: queue }), action).toBe(true);
      }
      expect(can("snapshot", { action: "sqs:SendMessage", resource: queue })).toBe(false);
      expect(can("snapshot", { action: "sns:Publish", resource: cfn.ref("AlertTopic") })).toBe(true);
      const metric = { action: "cloudwatch:PutMetricData", resource: "*" };
      expect(can("snapshot", { ...metric, context: { "cloudwatch:namespace": "blockvault" } })).toBe(true);
      expect(can("snapshot", { ...metric, context: { "cloudwatch:namespace": "AWS/Lambda" } })).toBe(false);
    });
  });

  describe("scheduler", () => {
    it("reads the vault config, writes jobs and queues requests, and nothing destructive", () => {
      expect(can("scheduler", { action: "s3:GetObject", resource: object("config") })).toBe(true);
      expect(can("scheduler", { action: "s3:PutObject", resource: object("config") })).toBe(false);
      expect(can("scheduler", { action: "s3:DeleteObject", resource: object("config") })).toBe(false);
      expect(can("scheduler", { action: "dynamodb:PutItem", resource: tableArn })).toBe(true);
      expect(can("scheduler", { action: "dynamodb:DeleteItem", resource: tableArn })).toBe(false);
      expect(
        can("scheduler", { action: "sqs:SendMessage", resource: cfn.getAtt("FanOutQueue", "Arn") }),
      ).toBe(true);
    });

    it("unwraps only the dedup key and generates no data keys", () => {
      expect(kms("scheduler", "kms:Decrypt", dedupKey)).toBe(true);
      expect(kms("scheduler", "kms:Decrypt", packKey)).toBe(false);
      expect(kms("scheduler", "kms:GenerateDataKey", packKey)).toBe(false);
    });
  });

  describe("copies between accounts", () => {
    const writers = () => STAGE_PARAMS[stage].copyWriters?.split(",") ?? [];
    const copyRoles = () => STAGE_PARAMS[stage].copyRoles?.split(",") ?? [];

    it("lets lifecycle assume exactly the copy roles the stack lists, and no other function any", () => {
      for (const fn of Object.keys(FUNCTIONS) as Fn[]) {
        const assumable = copyRoles().filter((arn) => can(fn, { action: "sts:AssumeRole", resource: arn }));
        expect(assumable, fn).toEqual(fn === "lifecycle" ? copyRoles() : []);
        const other = "arn:aws:iam::999999999999:role/anything";
        expect(can(fn, { action: "sts:AssumeRole", resource: other }), fn).toBe(false);
      }
    });

    it("gives the listed source roles a copy writer role with the snapshot writer's rights and no more", () => {
      const exists = cfn.ofType("AWS::IAM::Role").some(([id]) => id === "CopyWriterRole");
      expect(exists).toBe(writers().length > 0);
      if (!exists) return;
      const trust = cfn.statements(cfn.resource("CopyWriterRole").Properties?.AssumeRolePolicyDocument);
      expect(
        trust.flatMap((t) => [t.Principal && typeof t.Principal === "object" ? t.Principal.AWS : []].flat()),
      ).toEqual(writers());
      const statements = cfn.roleStatements("CopyWriterRole");
      const s3 = (action: string, key: string, context: Record<string, string> = {}) =>
        allows(statements, { action, resource: object(key), context });
      expect(s3("s3:PutObject", "packs/ab/0123", { "s3:if-none-match": "*" })).toBe(true);
      expect(s3("s3:PutObject", "packs/ab/0123")).toBe(false);
      for (const key of ["config", "index/0001", "manifests/ab/cd"])
        expect(s3("s3:GetObject", key), key).toBe(true);
      expect(s3("s3:GetObject", "packs/ab/0123")).toBe(false);
      for (const action of [
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:PutObjectRetention",
        "s3:BypassGovernanceRetention",
      ])
        expect(s3(action, "packs/ab/0123"), action).toBe(false);
      for (const action of [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
      ])
        expect(allows(statements, { action, resource: tableArn }), action).toBe(false);
      expect(allows(statements, { action: "dynamodb:Query", resource: tableArn })).toBe(true);
      const commit = cfn.getAtt("CommitLambdaFunction", "Arn");
      expect(allows(statements, { action: "lambda:InvokeFunction", resource: commit })).toBe(true);
      const lifecycle = cfn.getAtt("LifecycleLambdaFunction", "Arn");
      expect(allows(statements, { action: "lambda:InvokeFunction", resource: lifecycle })).toBe(false);
      for (const action of ["sqs:DeleteMessage", "sns:Publish", "states:StartExecution"])
        expect(allows(statements, { action, resource: "*" }), action).toBe(false);
      const key = (action: string, context: Record<string, string>) =>
        allows(statements, { action, resource: keyArn, context });
      expect(key("kms:GenerateDataKey", packKey)).toBe(true);
      expect(key("kms:Decrypt", dedupKey)).toBe(true);
      expect(key("kms:Decrypt", packKey)).toBe(false);
      expect(key("kms:ReEncryptFrom", packKey)).toBe(false);
    });
  });

  describe("only the restore and purge paths (lifecycle, api) may delete or unwrap pack keys", () => {
    it("lets lifecycle and api delete and restore objects, and no other role in the template", () => {
      const functionRoles = new Map((Object.keys(FUNCTIONS) as Fn[]).map((fn) => [role(fn), fn]));
      const allRoles = cfn.ofType("AWS::IAM::Role").map(([id]) => id);
      expect(allRoles.length).toBeGreaterThan(4);
      for (const id of allRoles) {
        const statements = cfn.roleStatements(id);
        const fn = functionRoles.get(id);
        const restorer = fn !== undefined && RESTORERS.includes(fn);
        for (const action of ["s3:DeleteObject", "s3:RestoreObject"]) {
          expect(allows(statements, { action, resource: object("packs/ab/0123") }), `${id} ${action}`).toBe(
            restorer,
          );
        }
        expect(
          allows(statements, { action: "dynamodb:DeleteItem", resource: tableArn }),
          `${id} DeleteItem`,
        ).toBe(restorer);
      }
    });

    it("lets lifecycle and api unwrap pack data keys and generate data keys", () => {
      for (const fn of RESTORERS) {
        expect(kms(fn, "kms:Decrypt", packKey), fn).toBe(true);
        expect(kms(fn, "kms:Decrypt", dedupKey), fn).toBe(true);
        expect(kms(fn, "kms:GenerateDataKey", packKey), fn).toBe(true);
      }
    });

    it("lets api start restore executions only, and lifecycle write EBS snapshots", () => {
      const machine = (id: string) => cfn.ref(id);
      expect(can("api", { action: "states:StartExecution", resource: machine("RestoreStateMachine") })).toBe(
        true,
      );
      for (const other of ["TieringStateMachine", "ExpiryStateMachine"]) {
        expect(can("api", { action: "states:StartExecution", resource: machine(other) }), other).toBe(false);
      }
      for (const fn of ["scheduler", "snapshot", "lifecycle"] as Fn[]) {
        expect(
          can(fn, { action: "states:StartExecution", resource: machine("RestoreStateMachine") }),
          fn,
        ).toBe(false);
      }
      const snapshot = `arn:aws:ec2:${REGION}::snapshot/snap-0123`;
      for (const action of ["ebs:StartSnapshot", "ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"]) {
        expect(can("lifecycle", { action, resource: snapshot }), action).toBe(true);
      }
    });
  });

  /**
   * The stack's parameters for what lies outside the vault: dev is packaged allowing the README's
   * examples (STAGE_PARAMS), local with the defaults, which allow no S3 location at all.
   */
  describe("sources and restore targets (stack parameters)", () => {
    const allowed = STAGE_PARAMS[stage].backupSources !== undefined;
    const ebsKey = STAGE_PARAMS.dev.ebsKmsKeys!;
    const s3 = (path: string) => `arn:aws:s3:::${path}`;
    const FNS: Fn[] = ["scheduler", "snapshot", "lifecycle", "api"];
    const SOURCE_READERS: Fn[] = ["snapshot", "api"];
    const list = (bucket: string, prefix: string) => ({
      action: "s3:ListBucket",
      resource: s3(bucket),
      context: { "s3:prefix": prefix },
    });

    it("lets backups read the allowed sources, under their prefixes only", () => {
      for (const fn of FNS) {
        const reader = allowed && SOURCE_READERS.includes(fn);
        for (const action of ["s3:GetObject", "s3:GetObjectVersion"]) {
          expect(can(fn, { action, resource: s3("acme-images/disks/web.vhd") }), `${fn} ${action}`).toBe(
            reader,
          );
          expect(can(fn, { action, resource: s3("acme-golden/base.img") }), `${fn} ${action}`).toBe(reader);
          expect(can(fn, { action, resource: s3("acme-images/private/db.vhd") }), fn).toBe(false);
        }
        expect(can(fn, list("acme-images", "disks/web.vhd")), fn).toBe(reader);
        expect(can(fn, list("acme-images", "private/")), fn).toBe(false);
      }
    });

    it("writes, deletes or changes nothing in a source", () => {
      for (const fn of FNS) {
        for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:RestoreObject"]) {
          expect(can(fn, { action, resource: s3("acme-images/disks/web.vhd") }), `${fn} ${action}`).toBe(
            false,
          );
        }
      }
    });

    it("lets only the restore path write the allowed targets, under their prefixes, and read none", () => {
      for (const fn of FNS) {
        const writer = allowed && fn === "lifecycle";
        for (const action of ["s3:PutObject", "s3:AbortMultipartUpload"]) {
          expect(can(fn, { action, resource: s3("acme-restores/restores/web.img") }), `${fn} ${action}`).toBe(
            writer,
          );
          expect(can(fn, { action, resource: s3("acme-restores/web.img") }), `${fn} ${action}`).toBe(false);
        }
        // Listing the prefix only, so that the target can tell a missing key (404) from a denial.
        expect(can(fn, list("acme-restores", "restores/web.img")), fn).toBe(writer);
        for (const action of ["s3:GetObject", "s3:DeleteObject", "s3:GetObjectVersion"]) {
          expect(can(fn, { action, resource: s3("acme-restores/restores/web.img") }), `${fn} ${action}`).toBe(
            false,
          );
        }
      }
    });

    it("reads EBS snapshots for backups and writes them for restores, as the parameters allow", () => {
      const snapshot = `arn:aws:ec2:${REGION}::snapshot/snap-0123`;
      for (const fn of FNS) {
        const reads = SOURCE_READERS.includes(fn);
        expect(can(fn, { action: "ebs:GetSnapshotBlock", resource: snapshot }), fn).toBe(reads);
        expect(can(fn, { action: "ebs:ListChangedBlocks", resource: snapshot }), fn).toBe(reads);
        expect(can(fn, { action: "ebs:PutSnapshotBlock", resource: snapshot }), fn).toBe(fn === "lifecycle");
      }
    });

    it("uses the keys of encrypted snapshots only through EBS: Decrypt to read, encrypt to write", () => {
      const ec2 = { "kms:ViaService": `ec2.${REGION}.amazonaws.com` };
      const viaS3 = { "kms:ViaService": `s3.${REGION}.amazonaws.com` };
      const use = (fn: Fn, action: string, context: Record<string, string> = {}) =>
        can(fn, { action, resource: ebsKey, context });
      for (const fn of FNS) {
        const reader = allowed && SOURCE_READERS.includes(fn);
        const writer = allowed && fn === "lifecycle";
        expect(use(fn, "kms:Decrypt", ec2), fn).toBe(reader || writer);
        expect(use(fn, "kms:Decrypt"), fn).toBe(false);
        expect(use(fn, "kms:Decrypt", viaS3), fn).toBe(false);
        for (const action of ["kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant", "kms:ReEncryptTo"]) {
          expect(use(fn, action, ec2), `${fn} ${action}`).toBe(writer);
        }
        expect(use(fn, "kms:Encrypt", ec2), fn).toBe(false);
        expect(use(fn, "kms:ScheduleKeyDeletion", ec2), fn).toBe(false);
      }
    });
  });

  describe("vault key", () => {
    it("is a customer-managed symmetric key with rotation on", () => {
      const key = cfn.resource("VaultKey").Properties ?? {};
      expect(key.EnableKeyRotation).toBe(true);
      expect(key.KeySpec).toBe("SYMMETRIC_DEFAULT");
    });

    it("separates writer and restorer in the key policy itself, whatever IAM grants", () => {
      const everything: Statement[] = [{ Effect: "Allow", Action: "kms:*", Resource: "*" }];
      for (const fn of WRITERS) {
        // Even with an IAM policy granting every KMS action, the key policy's Deny holds.
        expect(kms(fn, "kms:Decrypt", packKey, everything), fn).toBe(false);
        expect(kms(fn, "kms:Decrypt", dedupKey, everything), fn).toBe(true);
      }
      const key = keyPolicy();
      const direct = (fn: Fn, action: string, context: Record<string, string>) =>
        allows(key, { action, resource: "*", principal: roleArn(fn), context });
      expect(direct("snapshot", "kms:GenerateDataKey", packKey)).toBe(true);
      expect(direct("snapshot", "kms:Decrypt", packKey)).toBe(false);
      expect(direct("scheduler", "kms:GenerateDataKey", packKey)).toBe(false);
      for (const fn of RESTORERS) {
        expect(direct(fn, "kms:Decrypt", packKey), fn).toBe(true);
        expect(direct(fn, "kms:GenerateDataKey", packKey), fn).toBe(true);
      }
      const writerDeny = key.filter((s) => s.Effect === "Deny");
      expect(writerDeny.length).toBeGreaterThan(0);
      for (const fn of WRITERS) {
        expect(
          writerDeny.some((s) =>
            applies(s, { action: "kms:Decrypt", resource: "*", principal: roleArn(fn), context: packKey }),
          ),
          fn,
        ).toBe(true);
      }
      for (const fn of RESTORERS) {
        expect(
          writerDeny.some((s) =>
            applies(s, { action: "kms:Decrypt", resource: "*", principal: roleArn(fn), context: packKey }),
          ),
          fn,
        ).toBe(false);
      }
    });
  });

  describe("vault bucket", () => {
    it("is versioned, object-locked, private and encrypted with the vault key by default", () => {
      const props = cfn.resource("VaultBucket").Properties ?? {};
      expect(props.VersioningConfiguration).toEqual({ Status: "Enabled" });
      expect(props.ObjectLockEnabled).toBe(true);
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const [rule] = (cfn.resolve(props.BucketEncryption) as { ServerSideEncryptionConfiguration: unknown[] })
        .ServerSideEncryptionConfiguration as {
        ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID: string };
      }[];
      expect(rule?.ServerSideEncryptionByDefault).toEqual({
        SSEAlgorithm: "aws:kms",
        KMSMasterKeyID: keyArn,
      });
    });

    it("refuses every request without TLS, from anyone", () => {
      const [, policy] =
        cfn.ofType("AWS::S3::BucketPolicy").find(([, r]) => cfn.resolve(r.Properties?.Bucket) === bucket) ??
        [];
      expect(policy).toBeDefined();
      const statements = cfn.statements(policy?.Properties?.PolicyDocument);
      for (const [action, resource] of [
        ["s3:GetObject", object("config")],
        ["s3:PutObject", object("packs/ab/0123")],
        ["s3:ListBucket", `arn:aws:s3:::${bucket}`],
      ] as const) {
        const anyone = { action, resource, principal: roleArn("lifecycle") };
        expect(decide(statements, { ...anyone, context: { "aws:SecureTransport": "false" } }), action).toBe(
          "explicit-deny",
        );
        expect(
          decide(statements, { ...anyone, context: { "aws:SecureTransport": "true" } }),
          action,
        ).not.toBe("explicit-deny");
      }
    });
  });

  describe("storage-level immutability (bucket policy and roles together)", () => {
    const bucketArn = () => `arn:aws:s3:::${bucket}`;
    const bucketPolicy = (): Statement[] => {
      const [, policy] =
        cfn.ofType("AWS::S3::BucketPolicy").find(([, r]) => cfn.resolve(r.Properties?.Bucket) === bucket) ??
        [];
      if (!policy) throw new Error("the vault bucket has no policy");
      return cfn.statements(policy.Properties?.PolicyDocument);
    };
    const tls = { "aws:SecureTransport": "true" };
    /**
     * S3's decision for a caller of the bucket's own account: an explicit Deny in the bucket policy
     * or the caller's policies refuses; otherwise the caller's policies must allow it.
     */
    function s3(fn: Fn, request: Request, identity = iam(fn)): boolean {
      const withTls = { ...request, context: { ...tls, ...request.context } };
      if (decide(bucketPolicy(), { ...withTls, principal: roleArn(fn) }) === "explicit-deny") return false;
      return allows(identity, withTls);
    }
    const everything: Statement[] = [{ Effect: "Allow", Action: "s3:*", Resource: "*" }];
    const conditional = { "s3:if-none-match": "*" };
    const ALL: Fn[] = ["scheduler", "snapshot", "lifecycle", "api"];
    const KEYS = ["packs/ab/0123", "index/0abc", "manifests/a/0abc", "config", "vaults/v1/packs/ab/0123"];

    it("refuses the writer every delete, whatever its IAM policies grant", () => {
      for (const action of ["s3:DeleteObject", "s3:DeleteObjectVersion"]) {
        for (const key of KEYS) {
          expect(s3("snapshot", { action, resource: object(key) }), `${action} ${key}`).toBe(false);
          expect(
            s3("snapshot", { action, resource: object(key) }, everything),
            `${action} ${key} (s3:*)`,
          ).toBe(false);
        }
      }
    });

    it("refuses the writer an unconditional PutObject (an overwrite), and allows a create-only one", () => {
      for (const key of KEYS.slice(0, 3)) {
        expect(s3("snapshot", { action: "s3:PutObject", resource: object(key) }), key).toBe(false);
        expect(s3("snapshot", { action: "s3:PutObject", resource: object(key) }, everything), key).toBe(
          false,
        );
        expect(
          s3("snapshot", { action: "s3:PutObject", resource: object(key), context: conditional }),
          `${key} with If-None-Match`,
        ).toBe(true);
      }
    });

    it("refuses the writer every pack read, and allows the config, index and manifests a backup reads", () => {
      for (const key of ["packs/ab/0123", "packs/ff/ffff", "vaults/v1/packs/ab/0123"]) {
        expect(s3("snapshot", { action: "s3:GetObject", resource: object(key) }), key).toBe(false);
        expect(s3("snapshot", { action: "s3:GetObject", resource: object(key) }, everything), key).toBe(
          false,
        );
      }
      for (const key of ["config", "index/0abc", "manifests/a/0abc"]) {
        expect(s3("snapshot", { action: "s3:GetObject", resource: object(key) }), key).toBe(true);
      }
    });

    it("refuses everyone, account administrators included, version deletes and governance bypass", () => {
      const admin = `arn:aws:iam::${ACCOUNT}:root`;
      for (const action of ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]) {
        for (const fn of ALL) {
          expect(s3(fn, { action, resource: object("packs/ab/0123") }, everything), `${fn} ${action}`).toBe(
            false,
          );
        }
        expect(
          decide(bucketPolicy(), {
            action,
            resource: object("packs/ab/0123"),
            principal: admin,
            context: tls,
          }),
          action,
        ).toBe("explicit-deny");
      }
      for (const fn of ALL) {
        const actions = iam(fn).flatMap(actionsOf);
        expect(
          actions.filter((a) => glob(a, "s3:BypassGovernanceRetention", true)),
          fn,
        ).toEqual([]);
        expect(
          actions.filter((a) => glob(a, "s3:DeleteObjectVersion", true)),
          fn,
        ).toEqual([]);
      }
    });

    it("refuses the writer any change of retention, legal hold, lifecycle or bucket policy", () => {
      for (const action of [
        "s3:PutObjectRetention",
        "s3:PutObjectLegalHold",
        "s3:BypassGovernanceRetention",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketPolicy",
        "s3:PutBucketObjectLockConfiguration",
      ]) {
        expect(s3("snapshot", { action, resource: object("packs/ab/0123") }, everything), action).toBe(false);
        expect(s3("snapshot", { action, resource: bucketArn() }, everything), action).toBe(false);
      }
    });

    it("lets retention evaluation and the restore and purge paths read and extend retention", () => {
      for (const fn of ["scheduler", "lifecycle", "api"] as Fn[]) {
        for (const action of ["s3:GetObjectRetention", "s3:PutObjectRetention", "s3:GetObject"]) {
          expect(s3(fn, { action, resource: object("packs/ab/0123") }), `${fn} ${action}`).toBe(true);
        }
      }
      // Purges still delete (a delete marker; S3 keeps a retained version whatever happens).
      for (const fn of RESTORERS) {
        expect(s3(fn, { action: "s3:DeleteObject", resource: object("packs/ab/0123") }), fn).toBe(true);
      }
    });

    it("expires only noncurrent versions (never a current one) and keeps them 30 days first", () => {
      const rules = (
        cfn.resolve(cfn.resource("VaultBucket").Properties?.LifecycleConfiguration) as {
          Rules: Record<string, unknown>[];
        }
      ).Rules;
      for (const rule of rules) {
        expect(rule.ExpirationInDays, String(rule.Id)).toBeUndefined();
        expect(rule.ExpirationDate, String(rule.Id)).toBeUndefined();
        expect(rule.Transitions, String(rule.Id)).toBeUndefined();
      }
      const noncurrent = rules.filter((r) => r.NoncurrentVersionExpiration !== undefined);
      expect(noncurrent.map((r) => r.NoncurrentVersionExpiration)).toEqual([{ NoncurrentDays: 30 }]);
    });

    it("grants the writer and the scheduler no catalog delete, batch write, PartiQL or table administration", () => {
      for (const fn of WRITERS) {
        for (const action of [
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:PartiQLInsert",
          "dynamodb:PartiQLUpdate",
          "dynamodb:PartiQLDelete",
          "dynamodb:UpdateTable",
          "dynamodb:DeleteTable",
          "dynamodb:UpdateContinuousBackups",
          "dynamodb:RestoreTableToPointInTime",
          "dynamodb:PutResourcePolicy",
        ]) {
          expect(can(fn, { action, resource: tableArn }), `${fn} ${action}`).toBe(false);
        }
      }
    });
  });

  describe("catalog table", () => {
    it("has exactly the key schema and LSIs of lib/adapters/aws/dynamo/keys.ts, on demand, with PITR", () => {
      const props = cfn.resource("CatalogTable").Properties ?? {};
      expect(props.BillingMode).toBe("PAY_PER_REQUEST");
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.AttributeDefinitions).toEqual(
        Object.values(ATTR).map((AttributeName) => ({ AttributeName, AttributeType: "S" })),
      );
      expect(props.KeySchema).toEqual([
        { AttributeName: ATTR.pk, KeyType: "HASH" },
        { AttributeName: ATTR.sk, KeyType: "RANGE" },
      ]);
      expect(props.LocalSecondaryIndexes).toEqual(
        Object.values(INDEX).map((IndexName) => ({
          IndexName,
          KeySchema: [
            { AttributeName: ATTR.pk, KeyType: "HASH" },
            { AttributeName: IndexName, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        })),
      );
      expect(props.GlobalSecondaryIndexes).toBeUndefined();
    });
  });

  describe("fan-out queue", () => {
    it("dead-letters a request after maxReceiveCount deliveries, as the snapshot function counts them", () => {
      const queue = cfn.resource("FanOutQueue").Properties ?? {};
      const redrive = cfn.resolve(queue.RedrivePolicy) as {
        deadLetterTargetArn: string;
        maxReceiveCount: number;
      };
      expect(redrive.deadLetterTargetArn).toBe(cfn.getAtt("FanOutDeadLetterQueue", "Arn"));
      expect(redrive.maxReceiveCount).toBe(3);
      expect(Number(cfn.environment(FUNCTIONS.snapshot).BLOCKVAULT_MAX_RECEIVES)).toBe(
        redrive.maxReceiveCount,
      );
      // Lambda refuses a queue whose visibility timeout is shorter than the function timeout.
      expect(queue.VisibilityTimeout as number).toBeGreaterThanOrEqual(
        cfn.resource(FUNCTIONS.snapshot).Properties?.Timeout as number,
      );
    });

    it("feeds the snapshot function a few messages at a time with partial batch failures", () => {
      const mappings = cfn.ofType("AWS::Lambda::EventSourceMapping");
      expect(mappings.length).toBe(1);
      const props = cfn.resolve(mappings[0]?.[1].Properties) as Record<string, unknown>;
      expect(props.EventSourceArn).toBe(cfn.getAtt("FanOutQueue", "Arn"));
      expect(props.FunctionName).toBe(cfn.getAtt(FUNCTIONS.snapshot, "Arn"));
      expect(props.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
      expect(props.BatchSize as number).toBeGreaterThanOrEqual(1);
      expect(props.BatchSize as number).toBeLessThanOrEqual(5);
    });
  });

  describe("alarms", () => {
    const alarms = () =>
      cfn.ofType("AWS::CloudWatch::Alarm").map(([, r]) => cfn.resolve(r.Properties) as Alarm);
    type Alarm = {
      Namespace: string;
      MetricName: string;
      Dimensions?: { Name: string; Value: string }[];
      Statistic: string;
      Threshold: number;
      ComparisonOperator: string;
      AlarmActions: string[];
    };

    it("alarms on any message in the dead-letter queue, notifying the alert topic", () => {
      const dlq = alarms().find(
        (a) => a.Namespace === "AWS/SQS" && a.MetricName === "ApproximateNumberOfMessagesVisible",
      );
      expect(dlq?.Dimensions).toEqual([
        { Name: "QueueName", Value: cfn.getAtt("FanOutDeadLetterQueue", "QueueName") },
      ]);
      expect([dlq?.ComparisonOperator, dlq?.Threshold]).toEqual(["GreaterThanThreshold", 0]);
      expect(dlq?.AlarmActions).toContain(cfn.ref("AlertTopic"));
    });

    it("alarms on any failed job, on the metric the functions emit", () => {
      const failed = alarms().find((a) => a.MetricName === "JobsFailed");
      expect(failed?.Namespace).toBe("blockvault");
      expect([failed?.Statistic, failed?.ComparisonOperator, failed?.Threshold]).toEqual([
        "Sum",
        "GreaterThanThreshold",
        0,
      ]);
      expect(failed?.AlarmActions).toContain(cfn.ref("AlertTopic"));
      // Powertools adds the service dimension to every metric: the alarm must name the same one.
      for (const id of Object.values(FUNCTIONS)) {
        const env = cfn.environment(id);
        expect(env.POWERTOOLS_METRICS_NAMESPACE, id).toBe(failed?.Namespace);
        expect(failed?.Dimensions, id).toEqual([{ Name: "service", Value: env.POWERTOOLS_SERVICE_NAME }]);
      }
    });

    it.each([
      ["ItemsOutsideRpo", "Maximum"],
      ["RestoresFailed", "Sum"],
      ["VerificationsFailed", "Sum"],
    ])(
      "alarms on %s, a metric of the vocabulary, notifying the alert topic both ways",
      (metric, statistic) => {
        const alarm = alarms().find((a) => a.MetricName === metric) as
          | (Alarm & { OKActions: string[] })
          | undefined;
        expect(alarm, metric).toBeDefined();
        expect(Object.keys(METRICS)).toContain(metric);
        expect(alarm?.Namespace).toBe("blockvault");
        expect(alarm?.Dimensions).toEqual([{ Name: "service", Value: "blockvault" }]);
        expect([alarm?.Statistic, alarm?.ComparisonOperator, alarm?.Threshold]).toEqual([
          statistic,
          "GreaterThanThreshold",
          0,
        ]);
        expect(alarm?.AlarmActions).toContain(cfn.ref("AlertTopic"));
        expect(alarm?.OKActions).toContain(cfn.ref("AlertTopic"));
      },
    );
  });

  describe("HTTP API and state machines", () => {
    it("authorizes every route with IAM but the console's files", () => {
      const routes = cfn.ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties ?? {});
      expect(routes.map((r) => r.RouteKey).sort()).toEqual(
        [
          "POST /restores",
          "GET /restores/{id}",
          "GET /recovery-points",
          "GET /recovery-points/{id}",
          "DELETE /recovery-points/{id}",
          "POST /recovery-points/{id}/undelete",
          "GET /recovery-points/{id}/partitions",
          "GET /recovery-points/{id}/files",
          "GET /recovery-points/{id}/files/content",
          "GET /jobs",
          "GET /policies",
          "POST /policies",
          "GET /policies/{name}",
          "PUT /policies/{name}",
          "DELETE /policies/{name}",
          "GET /protected-items",
          "POST /protected-items",
          "GET /protected-items/{name}",
          "DELETE /protected-items/{name}",
          "GET /vms",
          "POST /vms",
          "GET /vms/{name}",
          "POST /vms/{name}/backups",
          "GET /vm-points",
          "GET /vm-points/{id}",
          "DELETE /vm-points/{id}",
          "POST /vm-points/{id}/undelete",
          "GET /me",
          "GET /approvals",
          "POST /approvals/{id}/approve",
          "POST /approvals/{id}/reject",
          "GET /vault/settings",
          "GET /vault/lock-preview",
          "PUT /vault/lock",
          "PUT /vault/soft-delete",
          "GET /principals",
          "GET /metrics",
          "GET /healthz",
          "GET /reports/usage",
          "GET /console",
          "GET /console/{proxy+}",
        ].sort(),
      );
      // The console's files are public code; the API function serves nothing else on those routes.
      const open = ["GET /console", "GET /console/{proxy+}"];
      for (const r of routes) {
        if (open.includes(String(r.RouteKey)))
          expect(r.AuthorizationType ?? "NONE", String(r.RouteKey)).toBe("NONE");
        else expect(r.AuthorizationType, String(r.RouteKey)).toBe("AWS_IAM");
      }
    });

    it("fills every placeholder of the ASL and tells the functions each machine's ARN", () => {
      const env = cfn.environment(FUNCTIONS.api);
      for (const [id, variable] of [
        ["TieringStateMachine", "BLOCKVAULT_TIERING_MACHINE_ARN"],
        ["ExpiryStateMachine", "BLOCKVAULT_EXPIRY_MACHINE_ARN"],
        ["RestoreStateMachine", "BLOCKVAULT_RESTORE_MACHINE_ARN"],
      ] as const) {
        const props = cfn.resource(id).Properties ?? {};
        const placeholders = new Set(
          [...String(props.DefinitionString).matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]),
        );
        const substitutions = (cfn.resolve(props.DefinitionSubstitutions) ?? {}) as Record<string, string>;
        for (const name of placeholders)
          expect(substitutions[name as string], `${id} \${${name}}`).toBeDefined();
        expect(substitutions.LifecycleFunctionArn).toBe(cfn.getAtt(FUNCTIONS.lifecycle, "Arn"));
        expect(cfn.resolve(env[variable])).toBe(cfn.ref(id));
      }
    });

    it("lets the state machines invoke the lifecycle function and no other", () => {
      const machineRoles = new Set(
        ["TieringStateMachine", "ExpiryStateMachine", "RestoreStateMachine"].map(
          (id) => (cfn.property(id, "RoleArn") as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0],
        ),
      );
      for (const id of machineRoles) {
        const statements = cfn.roleStatements(id);
        for (const fn of Object.keys(FUNCTIONS) as Fn[]) {
          const arn = cfn.getAtt(FUNCTIONS[fn], "Arn");
          expect(
            allows(statements, { action: "lambda:InvokeFunction", resource: arn }),
            `${id} -> ${fn}`,
          ).toBe(fn === "lifecycle");
        }
      }
    });
  });
});
