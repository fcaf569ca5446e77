import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { ConflictError, ValidationError } from "../../errors.ts";
import type { Machine, Workflows } from "../../ports/workflows.ts";
import { awsErrorCode, translateAwsError } from "./aws-errors.ts";

/**
 * Workflows on Step Functions. Starting an execution whose name is taken returns the existing
 * execution when its input is the same (Step Functions itself treats such a start as
 * idempotent) and is a `ConflictError` otherwise.
 */
export class SfnWorkflows implements Workflows {
  readonly #sfn: SFNClient;
  readonly #machines: Readonly<Record<Machine, string | undefined>>;

  constructor(sfn: SFNClient, machineArns: Readonly<Record<Machine, string | undefined>>) {
    this.#sfn = sfn;
    this.#machines = machineArns;
  }

  async start(
    machine: Machine,
    executionName: string,
    input: Record<string, unknown>,
  ): Promise<{ executionId: string }> {
    const arn = this.#machines[machine];
    if (!arn) throw new ValidationError(`no state machine configured for ${machine}`);
    const what = `start ${machine} execution ${executionName}`;
    try {
      const res = await this.#sfn.send(
        new StartExecutionCommand({
          stateMachineArn: arn,
          name: executionName,
          input: JSON.stringify(input),
        }),
      );
      return { executionId: res.executionArn! };
    } catch (err) {
      if (awsErrorCode(err) === "ExecutionAlreadyExists") {
        const executionArn = `${arn.replace(":stateMachine:", ":execution:")}:${executionName}`;
        const existing = await this.#sfn
          .send(new DescribeExecutionCommand({ executionArn }))
          .catch((e: unknown) => {
            throw translateAwsError(e, what);
          });
        if (existing.input !== JSON.stringify(input))
          throw new ConflictError(`${what}: an execution of that name exists with other input`, {
            cause: err,
          });
        return { executionId: executionArn };
      }
      throw translateAwsError(err, what);
    }
  }
}
