import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { LambdaWriterGate } from "../../../lib/adapters/aws/lambda-writer-gate.ts";
import { AccessDeniedError, NotFoundError, TransientError } from "../../../lib/errors.ts";
import { encodeCall, encodeReply, resultOf } from "../../../lib/rules/writer-gate/wire.ts";

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

/** What the commit function's handler returns: the reply as a JSON string, serialized by Lambda. */
const answered = (reply: string) => ({
  StatusCode: 200,
  Payload: Buffer.from(JSON.stringify(reply)) as never,
});

describe("the writer's gate as a Lambda function", () => {
  it("sends the encoded call as the payload and gives back the reply, undefined and bytes intact", async () => {
    lambda
      .on(InvokeCommand)
      .resolves(answered(encodeReply({ result: { n: undefined, b: Buffer.from([1, 2]) } })));
    const gate = new LambdaWriterGate(new LambdaClient({ region: "us-east-1" }), "blockvault-dev-commit");
    const call = encodeCall({ port: "catalog", method: "updateJob", args: ["v", "j", { ended: undefined }] });
    const result = resultOf(await gate.submit(call)) as { n?: unknown; b: Buffer };
    expect(Object.hasOwn(result, "n")).toBe(true);
    expect(result.b).toEqual(Buffer.from([1, 2]));
    const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(sent.FunctionName).toBe("blockvault-dev-commit");
    expect(Buffer.from(sent.Payload as Uint8Array).toString()).toBe(call);
  });

  it("rebuilds a refusal as the error class it was, so the engine's decisions hold", async () => {
    lambda.on(InvokeCommand).resolves(answered(encodeReply({ error: new AccessDeniedError("no") })));
    const gate = new LambdaWriterGate(new LambdaClient({ region: "us-east-1" }), "f");
    const reply = await gate.submit("{}");
    expect(() => resultOf(reply)).toThrow(AccessDeniedError);
    expect(() => resultOf(encodeReply({ error: new NotFoundError("gone") }))).toThrow(NotFoundError);
  });

  it("reports a function that failed before answering as retryable", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: "Unhandled",
      Payload: Buffer.from('{"errorMessage":"timeout"}') as never,
    });
    const gate = new LambdaWriterGate(new LambdaClient({ region: "us-east-1" }), "f");
    const err = await gate.submit("{}").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/Unhandled.*timeout/);
  });
});
