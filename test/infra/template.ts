/**
 * Reading a packaged CloudFormation template the way AWS would evaluate it, small enough to trust:
 * intrinsic functions resolved to concrete ARNs of a made-up account, and IAM statements (identity
 * policies, the key policy, the bucket policy) evaluated for one request at a time.
 */

export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** The pseudo parameters the resolved template is deployed with. */
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
const PSEUDO: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": REGION,
  "AWS::AccountId": ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::StackName": "blockvault-test",
};

/** Resolves `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` to what AWS would put there. */
export class Resolver {
  private readonly template: Template;

  constructor(template: Template) {
    this.template = template;
  }

  resource(id: string): Resource {
    const found = this.template.Resources[id];
    if (!found) throw new Error(`the template has no resource ${id}`);
    return found;
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== "object") return value;
    const o = value as Record<string, unknown>;
    if ("Ref" in o) return this.ref(o.Ref as string);
    if ("Fn::GetAtt" in o) {
      const target = o["Fn::GetAtt"];
      const [id, attr] = typeof target === "string" ? target.split(".") : (target as string[]);
      return this.getAtt(id!, attr!);
    }
    if ("Fn::Sub" in o) {
      const sub = o["Fn::Sub"];
      const [text, vars] = (Array.isArray(sub) ? sub : [sub, {}]) as [string, Record<string, unknown>];
      return text.replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) => {
        if (bang) return `\${${name}}`;
        if (name in vars) return String(this.resolve(vars[name]));
        if (name in PSEUDO) return this.ref(name);
        const dot = name.indexOf(".");
        return dot < 0 ? this.ref(name) : this.getAtt(name.slice(0, dot), name.slice(dot + 1));
      });
    }
    if ("Fn::Join" in o) {
      const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
      return (this.resolve(parts) as unknown[]).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  resolveString(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== "string") throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  ref(id: string): string {
    const pseudo = PSEUDO[id];
    if (pseudo) return pseudo;
    const r = this.resource(id);
    switch (r.Type) {
      case "AWS::S3::Bucket":
        return this.name(r, "BucketName", id);
      case "AWS::SQS::Queue":
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
      case "AWS::SNS::Topic":
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
      case "AWS::StepFunctions::StateMachine":
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${this.name(r, "StateMachineName", id)}`;
      case "AWS::Lambda::Function":
        return this.name(r, "FunctionName", id);
      case "AWS::KMS::Key":
        return `key-${id}`;
      default:
        return id;
    }
  }

  getAtt(id: string, attr: string): string {
    const r = this.resource(id);
    if (attr === "QueueName" && r.Type === "AWS::SQS::Queue") return id;
    if (attr !== "Arn") return `${id}.${attr}`;
    switch (r.Type) {
      case "AWS::S3::Bucket":
        return `arn:aws:s3:::${this.ref(id)}`;
      case "AWS::SQS::Queue":
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
      case "AWS::DynamoDB::Table":
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
      case "AWS::KMS::Key":
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${this.ref(id)}`;
      case "AWS::IAM::Role":
        return `arn:aws:iam::${ACCOUNT}:role/${id}`;
      case "AWS::Lambda::Function":
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${this.ref(id)}`;
      case "AWS::SNS::Topic":
      case "AWS::StepFunctions::StateMachine":
        return this.ref(id);
      default:
        return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:${id}`;
    }
  }

  private name(r: Resource, property: string, id: string): string {
    const given = r.Properties?.[property];
    return given === undefined ? id : this.resolveString(given);
  }

  /** Property `name` of resource `id`; an error when it has none. */
  property(id: string, name: string): unknown {
    const value = this.resource(id).Properties?.[name];
    if (value === undefined) throw new Error(`${id} has no ${name}`);
    return value;
  }

  /** The environment variables of Lambda function `id`, unresolved. */
  environment(id: string): Record<string, unknown> {
    return (this.property(id, "Environment") as { Variables: Record<string, unknown> }).Variables;
  }

  /** Every resource of `type`, by logical id. */
  ofType(type: string): [string, Resource][] {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  /** The role a Lambda function runs under (its logical id). */
  roleOfFunction(functionId: string): string {
    const role = this.resource(functionId).Properties?.Role as
      | { "Fn::GetAtt"?: [string, string] }
      | undefined;
    const id = role?.["Fn::GetAtt"]?.[0];
    if (!id) throw new Error(`${functionId} names no role of this template: ${JSON.stringify(role)}`);
    return id;
  }

  /**
   * Every identity-policy statement of role `roleId`, resolved: its inline policies and the
   * AWS::IAM::RolePolicy / AWS::IAM::Policy resources attached to it. Managed policies cannot be
   * evaluated here, so a role with any is an error.
   */
  roleStatements(roleId: string): Statement[] {
    const role = this.resource(roleId);
    if (role.Type !== "AWS::IAM::Role") throw new Error(`${roleId} is a ${role.Type}, not a role`);
    const managed = role.Properties?.ManagedPolicyArns as unknown[] | undefined;
    if (managed && managed.length > 0)
      throw new Error(`${roleId} has managed policies: ${JSON.stringify(managed)}`);
    const documents: unknown[] = [];
    for (const policy of (role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
      documents.push(policy.PolicyDocument);
    }
    const isRef = (v: unknown) => (v as { Ref?: unknown } | null)?.Ref === roleId;
    for (const [, r] of Object.entries(this.template.Resources)) {
      const props = r.Properties ?? {};
      if (r.Type === "AWS::IAM::RolePolicy" && isRef(props.RoleName)) documents.push(props.PolicyDocument);
      if (r.Type === "AWS::IAM::Policy" && ((props.Roles as unknown[] | undefined) ?? []).some(isRef)) {
        documents.push(props.PolicyDocument);
      }
    }
    return documents.flatMap((d) => this.statements(d));
  }

  /** The statements of a policy document, resolved. */
  statements(document: unknown): Statement[] {
    const resolved = this.resolve(document) as { Statement: Statement | Statement[] };
    return Array.isArray(resolved.Statement) ? resolved.Statement : [resolved.Statement];
  }
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: "*" | { readonly AWS?: string | string[]; readonly Service?: string | string[] };
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | boolean | number | (string | boolean)[]>>;
}

/** One API call: what, on which resource, with which request context (condition keys). */
export interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
  /** The caller, for resource policies (key policy, bucket policy). */
  readonly principal?: string;
}

export type Decision = "allow" | "explicit-deny" | "implicit-deny";

/** IAM's decision over `statements` alone: an applicable Deny wins, else some applicable Allow. */
export function decide(statements: readonly Statement[], request: Request): Decision {
  const applicable = statements.filter((s) => applies(s, request));
  if (applicable.some((s) => s.Effect === "Deny")) return "explicit-deny";
  return applicable.some((s) => s.Effect === "Allow") ? "allow" : "implicit-deny";
}

export function allows(statements: readonly Statement[], request: Request): boolean {
  return decide(statements, request) === "allow";
}

/** Whether `statement` matches the request: principal (when both name one), action, resource, conditions. */
export function applies(statement: Statement, request: Request): boolean {
  if (statement.NotAction || statement.NotResource) {
    throw new Error(`NotAction/NotResource are not evaluated here: ${JSON.stringify(statement)}`);
  }
  if (request.principal !== undefined && statement.Principal !== undefined) {
    if (!principalMatches(statement.Principal, request.principal)) return false;
  }
  if (!list(statement.Action).some((p) => glob(p, request.action, true))) return false;
  if (!list(statement.Resource).some((p) => glob(p, request.resource, false))) return false;
  return conditionsHold(statement.Condition ?? {}, request.context ?? {});
}

function principalMatches(principal: NonNullable<Statement["Principal"]>, who: string): boolean {
  if (principal === "*") return true;
  return list(principal.AWS).some((p) => p === "*" || p === who);
}

function conditionsHold(
  condition: NonNullable<Statement["Condition"]>,
  context: Readonly<Record<string, string>>,
) {
  return Object.entries(condition).every(([operator, tests]) =>
    Object.entries(tests).every(([key, expected]) => {
      const actual = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      const values = list(expected as string | string[]).map(String);
      switch (operator) {
        case "StringEquals":
        case "ArnEquals":
          return actual !== undefined && values.includes(actual);
        case "StringNotEquals":
        case "ArnNotEquals":
          return actual === undefined || !values.includes(actual);
        case "StringLike":
        case "ArnLike":
          return actual !== undefined && values.some((v) => glob(v, actual, false));
        case "StringNotLike":
        case "ArnNotLike":
          return actual === undefined || !values.some((v) => glob(v, actual, false));
        case "Null":
          // "true": the key is absent from the request; "false": it is present.
          return values.some((v) => (v.toLowerCase() === "true") === (actual === undefined));
        case "Bool":
          return actual !== undefined && values.some((v) => v.toLowerCase() === actual.toLowerCase());
        default:
          throw new Error(`condition operator ${operator} is not evaluated here`);
      }
    }),
  );
}

function list<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** IAM wildcard matching: `*` any run of characters, `?` one character. */
export function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

/** The actions a statement names. */
export function actionsOf(statement: Statement): string[] {
  return list(statement.Action);
}

/** The resources a statement names. */
export function resourcesOf(statement: Statement): string[] {
  return list(statement.Resource);
}
