/**
 * Checks of a policy's copy rules (`copyTo`): where each copy goes and how long it is kept there.
 */
import type { CopyRule } from "./policy.ts";
import { POLICY_LIMITS } from "./policy.ts";
import { describe, distinctList, integer, invalid, object } from "./validate-fields.ts";

const RULE_FIELDS = ["vault", "table", "kmsKey", "roleArn", "commitFunction", "retention"];
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}$/;

/** The 1 to 3 copy rules of `value`, each to a different destination. */
export function validateCopyRules(value: unknown): CopyRule[] {
  const rules = distinctList("copyTo", value, POLICY_LIMITS.copyRules, "copy rules", copyRule);
  const places = rules.map((rule) => rule.vault);
  const repeated = places.find((place, index) => places.indexOf(place) !== index);
  if (repeated !== undefined) invalid(`copyTo names the vault ${describe(repeated)} twice`);
  return rules;
}

function copyRule(path: string, value: unknown): CopyRule {
  const fields = object(path, value, RULE_FIELDS);
  const vault = destination(`${path}.vault`, fields.vault);
  const onS3 = vault.startsWith("s3://");
  const table = optionalName(`${path}.table`, fields.table);
  const kmsKey = optionalName(`${path}.kmsKey`, fields.kmsKey);
  const roleArn = optionalArn(`${path}.roleArn`, fields.roleArn, ROLE_ARN, "an IAM role ARN");
  const commitFunction = optionalArn(
    `${path}.commitFunction`,
    fields.commitFunction,
    FUNCTION_ARN,
    "a Lambda function ARN",
  );
  if (onS3 && table === undefined) invalid(`${path}.table is required for a vault on S3 (${vault})`);
  const awsOnly = [table, kmsKey, roleArn, commitFunction].some((field) => field !== undefined);
  if (!onS3 && awsOnly) {
    invalid(
      `${path}: table, kmsKey, roleArn and commitFunction apply only to a vault on S3, not to the directory ${vault}`,
    );
  }
  const retention = object(`${path}.retention`, fields.retention, ["days"]);
  const { min, max } = POLICY_LIMITS.copyRetentionDays;
  return {
    vault,
    ...(table !== undefined && { table }),
    ...(kmsKey !== undefined && { kmsKey }),
    ...(roleArn !== undefined && { roleArn }),
    ...(commitFunction !== undefined && { commitFunction }),
    retention: { days: integer(`${path}.retention.days`, retention.days, min, max) },
  };
}

/**
 * An absolute directory or `s3://BUCKET[/PREFIX]`. A relative path is refused: the policy is read
 * by the scheduler, whose working directory is nobody's business. Bucket names follow S3's rules.
 */
function destination(path: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 1024) {
    invalid(`${path} must be an absolute directory or s3://BUCKET[/PREFIX], got ${describe(value)}`);
  }
  if (value.startsWith("s3://")) {
    const [bucket = "", ...prefix] = value.slice("s3://".length).split("/");
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || prefix.some((part) => part === "")) {
      invalid(`${path} must be s3://BUCKET[/PREFIX] with a valid bucket name, got ${describe(value)}`);
    }
    return value;
  }
  if (!value.startsWith("/") || value.split("/").includes("..")) {
    invalid(
      `${path} must be an absolute directory without "..", or s3://BUCKET[/PREFIX], got ${describe(value)}`,
    );
  }
  return value.length > 1 && value.endsWith("/") ? value.slice(0, -1) : value;
}

function optionalName(path: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[A-Za-z0-9_.:/-]{1,2048}$/.test(value)) {
    invalid(`${path} must be a name or ARN, got ${describe(value)}`);
  }
  return value;
}

function optionalArn(path: string, value: unknown, pattern: RegExp, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !pattern.test(value))
    invalid(`${path} must be ${what}, got ${describe(value)}`);
  return value;
}
