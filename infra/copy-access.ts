/**
 * IAM for copies between vaults in different accounts (docs/design.md "Copies to a second vault"):
 *
 * - a source stack's lifecycle function (which runs the copy machine) may assume the copy roles
 *   its `copyRoles` parameter lists, and nothing else of another account;
 * - a destination stack whose `copyWriters` parameter lists source roles gets `CopyWriterRole`,
 *   trusted by exactly those, with the snapshot writer's rights on the vault and no more: new
 *   objects only (create-only puts), the config, index and manifests read, never a pack, the
 *   catalog read and written only through the commit function, data keys generated and only the
 *   dedup key unwrapped. No queue, topic, log or delete right: a source account that is taken
 *   over can add copies to the destination, and nothing else.
 */

type Json = Record<string, unknown>;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Role ARNs of a comma-separated parameter; anything else is an error naming the parameter. */
export function roleArns(param: string, value: string): string[] {
  const arns = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  for (const arn of arns) {
    if (!ROLE_ARN.test(arn)) throw new Error(`parameter ${param}: "${arn}" is not an IAM role ARN`);
  }
  return arns;
}

/** The lifecycle role's statement assuming the copy roles of other accounts (none if none). */
export function assumeCopyRoles(copyRoles: readonly string[]): Json[] {
  if (copyRoles.length === 0) return [];
  return [{ Sid: "AssumeCopyRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: [...copyRoles] }];
}

const bucket = { "Fn::GetAtt": ["VaultBucket", "Arn"] };
const inBucket = (key: string) => ({ "Fn::Sub": `\${VaultBucket.Arn}/${key}` });
const table = { "Fn::GetAtt": ["CatalogTable", "Arn"] };
const inTable = (path: string) => ({ "Fn::Sub": `\${CatalogTable.Arn}/${path}` });
// biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder CloudFormation's Fn::Sub fills
const REGION = "${AWS::Region}";

function writerStatements(): Json[] {
  return [
    { Sid: "WriteVaultObjects", Effect: "Allow", Action: "s3:PutObject", Resource: inBucket("*") },
    {
      Sid: "StoresOnlyNewObjects",
      Effect: "Deny",
      Action: "s3:PutObject",
      Resource: inBucket("*"),
      Condition: { Null: { "s3:if-none-match": "true" } },
    },
    {
      Sid: "ReadConfigIndexAndManifests",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [inBucket("config"), inBucket("index/*"), inBucket("manifests/*")],
    },
    { Sid: "ListVault", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket },
    {
      Sid: "CatalogRead",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
      Resource: [table, inTable("index/*")],
    },
    {
      Sid: "WriteThroughTheGate",
      Effect: "Allow",
      Action: "lambda:InvokeFunction",
      Resource: { "Fn::GetAtt": ["CommitLambdaFunction", "Arn"] },
    },
    ...keyStatements(),
  ];
}

/** The key policy lets IAM grant (AccountAdministersThroughIam); these grant what the writer has. */
function keyStatements(): Json[] {
  const key = { "Fn::GetAtt": ["VaultKey", "Arn"] };
  return [
    { Sid: "GenerateDataKeys", Effect: "Allow", Action: "kms:GenerateDataKey", Resource: key },
    {
      Sid: "UnwrapOnlyTheDedupKey",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: key,
      Condition: { StringEquals: { "kms:EncryptionContext:purpose": "dedup-key" } },
    },
    {
      Sid: "ReadVaultObjectsThroughS3",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: key,
      Condition: {
        StringEquals: { "kms:ViaService": { "Fn::Sub": `s3.${REGION}.amazonaws.com` } },
      },
    },
  ];
}

/** `CopyWriterRole` and its output, when some source roles may copy into this vault. */
export function copyWriterResources(copyWriters: readonly string[]): {
  resources: Record<string, Json>;
  outputs: Record<string, Json>;
} {
  if (copyWriters.length === 0) return { resources: {}, outputs: {} };
  const role = {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: "blockvault copy writer: what another account's copies may do in this vault",
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: [...copyWriters] }, Action: "sts:AssumeRole" }],
      },
      Policies: [
        {
          PolicyName: "copy-writer",
          PolicyDocument: { Version: "2012-10-17", Statement: writerStatements() },
        },
      ],
    },
  };
  return {
    resources: { CopyWriterRole: role },
    outputs: {
      CopyWriterRoleArn: {
        Description: "The role a copy rule of another account's vault names (roleArn)",
        Value: { "Fn::GetAtt": ["CopyWriterRole", "Arn"] },
      },
      CommitFunctionArn: {
        Description: "This vault's commit function, which that copy rule names (commitFunction)",
        Value: { "Fn::GetAtt": ["CommitLambdaFunction", "Arn"] },
      },
    },
  };
}
