/**
 * Least-privilege IAM for what lies outside the vault: the S3 locations backups read, the S3
 * locations restores write, EBS snapshots either way, and the KMS keys of encrypted snapshots.
 * The stack's parameters (serverless.yml `params`) list them; {@link accessResources} turns them
 * into one `AWS::IAM::RolePolicy` per role that needs any, so nothing is granted that was not asked.
 *
 * - sources (read-only): snapshot (backups) and api (protecting a disk opens its source);
 * - restore targets (write-only): lifecycle (the restore machine assembles into them);
 * - EBS: the direct APIs' read actions with the sources, write actions with the targets;
 * - KMS: only through EBS (`kms:ViaService`), only the keys listed;
 * - copies between accounts: the copy roles to assume, the copy writer role (copy-access.ts).
 */

import { assumeCopyRoles, copyWriterResources, roleArns } from "./copy-access.ts";

/** What the stack may reach beyond the vault, from its parameters. */
export interface ExternalAccess {
  readonly sources: readonly S3Location[];
  readonly targets: readonly S3Location[];
  readonly ebsSources: boolean;
  readonly ebsTargets: boolean;
  readonly ebsKmsKeys: readonly string[];
  /** Copy roles of other accounts the lifecycle function may assume (copies out). */
  readonly copyRoles: readonly string[];
  /** Roles of other accounts that may assume this vault's copy writer role (copies in). */
  readonly copyWriters: readonly string[];
}

/** An S3 bucket and key prefix ("" for the whole bucket). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** The stack parameters, by name. */
export const ACCESS_PARAMS = [
  "backupSources",
  "restoreTargets",
  "ebsSources",
  "ebsTargets",
  "ebsKmsKeys",
  "copyRoles",
  "copyWriters",
] as const;

/** The raw parameter values: comma-separated lists and "true"/"false". */
export type AccessParams = Readonly<Record<(typeof ACCESS_PARAMS)[number], string>>;

type Json = Record<string, unknown>;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KMS_KEY = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function list(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** `s3://bucket/prefix` → location; wildcards are refused, since they would widen the grant. */
export function parseLocation(param: string, url: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match || !BUCKET.test(match[1]!) || /[*?]/.test(match[2]!)) {
    throw new Error(`parameter ${param}: "${url}" is not an s3://bucket/prefix location (no wildcards)`);
  }
  return { bucket: match[1]!, prefix: match[2]! };
}

function flag(param: string, value: string): boolean {
  if (value === "true" || value === "false") return value === "true";
  throw new Error(`parameter ${param}: expected true or false, got "${value}"`);
}

/** Checks and parses the parameters; a bad value is an error naming the parameter. */
export function parseAccess(params: AccessParams): ExternalAccess {
  const ebsKmsKeys = list(params.ebsKmsKeys);
  for (const key of ebsKmsKeys) {
    if (!KMS_KEY.test(key)) throw new Error(`parameter ebsKmsKeys: "${key}" is not a KMS key ARN`);
  }
  return {
    sources: list(params.backupSources).map((url) => parseLocation("backupSources", url)),
    targets: list(params.restoreTargets).map((url) => parseLocation("restoreTargets", url)),
    ebsSources: flag("ebsSources", params.ebsSources),
    ebsTargets: flag("ebsTargets", params.ebsTargets),
    ebsKmsKeys,
    copyRoles: roleArns("copyRoles", params.copyRoles),
    copyWriters: roleArns("copyWriters", params.copyWriters),
  };
}

const arn = (resource: string) => ({ "Fn::Sub": `arn:\${AWS::Partition}:${resource}` });
const objects = (l: S3Location) => arn(`s3:::${l.bucket}/${l.prefix}*`);
// biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder CloudFormation's Fn::Sub fills
const REGION = "${AWS::Region}";
const snapshots = arn(`ec2:${REGION}::snapshot/*`);
const throughEbs = { StringEquals: { "kms:ViaService": { "Fn::Sub": `ec2.${REGION}.amazonaws.com` } } };

/**
 * Listing, limited to the prefix: without it S3 answers a HeadObject of a missing key with 403
 * instead of 404, and a source could not say "not found" nor a target check it replaces nothing.
 */
function listPrefix(sid: string, l: S3Location): Json {
  const condition = l.prefix ? { Condition: { StringLike: { "s3:prefix": [`${l.prefix}*`] } } } : {};
  return {
    Sid: sid,
    Effect: "Allow",
    Action: "s3:ListBucket",
    Resource: arn(`s3:::${l.bucket}`),
    ...condition,
  };
}

function readStatements(access: ExternalAccess): Json[] {
  const statements = access.sources.flatMap((l, i) => [
    {
      Sid: `ReadSource${i}`,
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: objects(l),
    },
    listPrefix(`ListSource${i}`, l),
  ]);
  if (access.ebsSources) {
    const actions = ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"];
    statements.push({ Sid: "ReadEbsSnapshots", Effect: "Allow", Action: actions, Resource: snapshots });
    if (access.ebsKmsKeys.length > 0) {
      const actions = ["kms:Decrypt", "kms:DescribeKey"];
      statements.push({
        Sid: "DecryptEbsSnapshots",
        Effect: "Allow",
        Action: actions,
        Resource: access.ebsKmsKeys,
        Condition: throughEbs,
      });
    }
  }
  return statements;
}

function writeStatements(access: ExternalAccess): Json[] {
  const statements = access.targets.flatMap((l, i) => [
    {
      Sid: `WriteTarget${i}`,
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: objects(l),
    },
    listPrefix(`ListTarget${i}`, l),
  ]);
  if (access.ebsTargets) {
    const actions = ["ebs:StartSnapshot", "ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"];
    statements.push({ Sid: "WriteEbsSnapshots", Effect: "Allow", Action: actions, Resource: snapshots });
    if (access.ebsKmsKeys.length > 0) {
      // What EBS asks for on the caller's behalf to encrypt a new snapshot under the key.
      const actions = [
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:CreateGrant",
      ];
      statements.push({
        Sid: "EncryptEbsSnapshots",
        Effect: "Allow",
        Action: actions,
        Resource: access.ebsKmsKeys,
        Condition: throughEbs,
      });
    }
  }
  return statements;
}

function rolePolicy(role: string, statements: Json[]): Json {
  return {
    Type: "AWS::IAM::RolePolicy",
    Properties: {
      RoleName: { Ref: role },
      PolicyName: "external-access",
      PolicyDocument: { Version: "2012-10-17", Statement: statements },
    },
  };
}

/** The role policies `access` calls for, by logical id (none for a role that needs nothing). */
export function accessResources(access: ExternalAccess): Record<string, Json> {
  const read = readStatements(access);
  const write = [...writeStatements(access), ...assumeCopyRoles(access.copyRoles)];
  const resources: Record<string, Json> = {};
  if (read.length > 0) {
    resources.SnapshotExternalAccess = rolePolicy("SnapshotRole", read);
    resources.ApiExternalAccess = rolePolicy("ApiRole", read);
  }
  if (write.length > 0) resources.LifecycleExternalAccess = rolePolicy("LifecycleRole", write);
  return { ...resources, ...copyWriterResources(access.copyWriters).resources };
}
