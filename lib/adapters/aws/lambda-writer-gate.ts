import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { TransientError } from "../../errors.ts";
import type { WriterGate } from "../../ports/writer-gate.ts";
import { translateAwsError } from "./aws-errors.ts";

/**
 * The writer's gate as a Lambda function of its own (the commit function): each call is one
 * synchronous invocation carrying the encoded call, answered with the encoded reply. The
 * function's role holds the catalog write rights the writer's role lacks.
 */
export class LambdaWriterGate implements WriterGate {
  readonly #client: LambdaClient;
  readonly #functionName: string;

  constructor(client: LambdaClient, functionName: string) {
    this.#client = client;
    this.#functionName = functionName;
  }

  async submit(request: string): Promise<string> {
    const what = `call the commit function ${this.#functionName}`;
    const out = await this.#client
      .send(new InvokeCommand({ FunctionName: this.#functionName, Payload: Buffer.from(request) }))
      .catch((err: unknown) => {
        throw translateAwsError(err, what);
      });
    const payload = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "";
    // The function returns its reply as a JSON string; an unhandled failure (a timeout, a crash
    // before it answered) is a FunctionError, and repeating the call may succeed.
    if (out.FunctionError)
      throw new TransientError(`${what}: ${out.FunctionError}: ${payload}`, { retryable: true });
    const reply: unknown = JSON.parse(payload);
    if (typeof reply !== "string")
      throw new TransientError(`${what}: answered without a reply`, { retryable: true });
    return reply;
  }
}
