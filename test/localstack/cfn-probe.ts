import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A CloudFormation template, as serverless compiles it. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; DependsOn?: string | string[]; [key: string]: Json | undefined }>;
  Outputs?: Record<string, Json>;
  [key: string]: unknown;
}

/** How one resource of a stack ended, from its last event. */
export interface ResourceOutcome {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
}

/**
 * The template with the resources of `types` taken out and every reference to one (`Ref`,
 * `Fn::GetAtt`, `${X.Arn}` in `Fn::Sub`, `DependsOn`) replaced by a plain name or ARN, so that
 * LocalStack's CloudFormation can be asked about every other resource of the stack.
 */
export function withoutResources(template: CfnTemplate, types: readonly string[]): CfnTemplate {
  const removed = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (types.includes(resource.Type)) removed.set(id, resource.Type);
  }
  const arn = (id: string) =>
    `arn:aws:${removed.get(id)?.split("::")[1]?.toLowerCase()}:us-east-1:000000000000:removed/${id}`;
  const replace = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(replace);
    if (value === null || typeof value !== "object") return value;
    const ref = value.Ref;
    if (typeof ref === "string" && removed.has(ref)) return `removed-${ref}`;
    const att = value["Fn::GetAtt"];
    if (Array.isArray(att) && typeof att[0] === "string" && removed.has(att[0])) return arn(att[0]);
    const sub = value["Fn::Sub"];
    if (typeof sub === "string") {
      return {
        "Fn::Sub": sub.replace(/\$\{(\w+)\.Arn\}/g, (all, id: string) => (removed.has(id) ? arn(id) : all)),
      };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v)]));
  };
  const resources: CfnTemplate["Resources"] = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (removed.has(id)) continue;
    const { DependsOn, ...rest } = resource;
    const kept = [DependsOn ?? []].flat().filter((d) => !removed.has(d));
    resources[id] = {
      ...(replace(rest as Json) as typeof rest),
      ...(kept.length ? { DependsOn: kept } : {}),
    };
  }
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).filter(
      ([, v]) => ![...removed.keys()].some((id) => JSON.stringify(v).includes(`"${id}"`)),
    ),
  );
  return { ...template, Resources: resources, Outputs: outputs };
}

/** Creates a stack from the template at `templateUrl` and waits until it is no longer in progress. */
export async function createStack(
  cfn: CloudFormationClient,
  name: string,
  templateUrl: string,
): Promise<string> {
  await cfn.send(
    new CreateStackCommand({
      StackName: name,
      TemplateURL: templateUrl,
      Capabilities: ["CAPABILITY_NAMED_IAM"],
    }),
  );
  return stackStatus(cfn, name);
}

/** Waits (up to 3 minutes) until the stack is no longer in progress; its status. */
export async function stackStatus(cfn: CloudFormationClient, name: string): Promise<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    const status = Stacks?.[0]?.StackStatus ?? "";
    if (!status.endsWith("_IN_PROGRESS") || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** How each resource of the stack ended: the last event of each logical id (the stack's own left out). */
export async function resourceOutcomes(
  cfn: CloudFormationClient,
  name: string,
): Promise<Map<string, ResourceOutcome>> {
  const events: StackEvent[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: name, NextToken: token }));
    events.push(...(page.StackEvents ?? []));
    token = page.NextToken;
  } while (token);
  const outcomes = new Map<string, ResourceOutcome>();
  for (const event of events.reverse()) {
    if (event.ResourceType === "AWS::CloudFormation::Stack") continue;
    outcomes.set(event.LogicalResourceId ?? "", {
      type: event.ResourceType ?? "",
      status: event.ResourceStatus ?? "",
      reason: event.ResourceStatusReason ?? "",
    });
  }
  return outcomes;
}

/** Deletes a stack and waits until it is gone or its deletion has ended. */
export async function deleteStack(cfn: CloudFormationClient, name: string): Promise<void> {
  await cfn.send(new DeleteStackCommand({ StackName: name }));
  await stackStatus(cfn, name).catch(() => "gone");
}
