import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { LambdaTaskRecord } from "../../lib/app/local-workflows.ts";

/** What a mocked task does on one invocation: return a Lambda invocation's result, or fail. */
export type MockedResponse =
  | { readonly Return: { readonly StatusCode: 200; readonly Payload: unknown } }
  | { readonly Throw: { readonly Error: string; readonly Cause: string } };

/** Test cases of one machine: in each, each state's responses in the order its invocations come. */
export type TestCases = Readonly<Record<string, Readonly<Record<string, readonly MockedResponse[]>>>>;

/**
 * LocalStack's Step Functions mock configuration (the format of `SFN_MOCK_CONFIG`) holding the
 * test cases of each machine, by machine name.
 */
export function mockConfig(machines: Readonly<Record<string, TestCases>>): unknown {
  const mocked: Record<string, Record<string, MockedResponse>> = {};
  const stateMachines: Record<string, { TestCases: Record<string, Record<string, string>> }> = {};
  for (const [machine, cases] of Object.entries(machines)) {
    const testCases: Record<string, Record<string, string>> = {};
    for (const [testCase, responses] of Object.entries(cases)) {
      const states: Record<string, string> = {};
      for (const [state, list] of Object.entries(responses)) {
        const name = `${machine}-${testCase}-${state}`;
        states[state] = name;
        mocked[name] = Object.fromEntries(list.map((r, i) => [String(i), r]));
      }
      testCases[testCase] = states;
    }
    stateMachines[machine] = { TestCases: testCases };
  }
  return { StateMachines: stateMachines, MockedResponses: mocked };
}

/** The embedded runtime's task results, as mocked responses per state. */
export function recordedResponses(records: readonly LambdaTaskRecord[]): Record<string, MockedResponse[]> {
  const responses: Record<string, MockedResponse[]> = {};
  for (const record of records) {
    const list = responses[record.state] ?? [];
    list.push({ Return: { StatusCode: 200, Payload: record.result } });
    responses[record.state] = list;
  }
  return responses;
}

/** Creates a machine from ASL text with its `${...}` placeholders filled in; its ARN. */
export async function createMachine(
  sfn: SFNClient,
  name: string,
  asl: string,
  values: Readonly<Record<string, string>>,
): Promise<string> {
  const definition = asl.replace(/\$\{(\w+)\}/g, (all, key: string) => values[key] ?? all);
  const created = await sfn.send(
    new CreateStateMachineCommand({
      name,
      definition,
      roleArn: "arn:aws:iam::000000000000:role/blockvault-local-machines",
    }),
  );
  return created.stateMachineArn ?? "";
}

/** An execution of a test case of LocalStack's mock config, run to its end. */
export interface ReplayedExecution {
  readonly described: DescribeExecutionCommandOutput;
  readonly history: HistoryEvent[];
  /** The payload of every Lambda task it scheduled, in order. */
  readonly lambdaPayloads: unknown[];
}

/** Starts `machineArn#testCase` with `input` and waits (up to a minute) for it to end. */
export async function runTestCase(
  sfn: SFNClient,
  machineArn: string,
  testCase: string,
  input: unknown,
): Promise<ReplayedExecution> {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: `${machineArn}#${testCase}`, input: JSON.stringify(input) }),
  );
  const deadline = Date.now() + 60_000;
  let described: DescribeExecutionCommandOutput;
  do {
    await new Promise((r) => setTimeout(r, 250));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } while (described.status === "RUNNING" && Date.now() < deadline);
  const history =
    (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
  const lambdaPayloads = history
    .filter((e) => e.type === "TaskScheduled" && e.taskScheduledEventDetails?.resourceType === "lambda")
    .map(
      (e) => (JSON.parse(e.taskScheduledEventDetails?.parameters ?? "{}") as { Payload?: unknown }).Payload,
    );
  return { described, history, lambdaPayloads };
}

/** Recorded tasks grouped by the execution they ran in, each group in order. */
export function byExecution(records: readonly LambdaTaskRecord[]): Map<string, LambdaTaskRecord[]> {
  const runs = new Map<string, LambdaTaskRecord[]>();
  for (const record of records)
    runs.set(record.executionId, [...(runs.get(record.executionId) ?? []), record]);
  return runs;
}

/** An SNS topic named `name` with an SQS queue subscribed to it (raw delivery): where its messages can be read. */
export async function alertInbox(
  sns: SNSClient,
  sqs: SQSClient,
  name: string,
): Promise<{ topicArn: string; queueUrl: string }> {
  const topic = await sns.send(new CreateTopicCommand({ Name: name }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
  const queueUrl = queue.QueueUrl ?? "";
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn,
      Protocol: "sqs",
      Endpoint: Attributes?.QueueArn,
      Attributes: { RawMessageDelivery: "true" },
    }),
  );
  return { topicArn: topic.TopicArn ?? "", queueUrl };
}
