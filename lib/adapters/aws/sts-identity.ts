import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { AccessDeniedError } from "../../errors.ts";
import { translateAwsError } from "./aws-errors.ts";
import { type AwsConfig, stsClient } from "./clients.ts";

/**
 * The ARN of the IAM identity the AWS credentials in use belong to (STS GetCallerIdentity, which
 * needs no permission): an IAM user, or an assumed-role session. Errors are translated like every
 * other AWS call's, naming STS.
 */
export async function callerArn(config: AwsConfig): Promise<string> {
  const sts = stsClient(config);
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Arn) throw new AccessDeniedError("STS GetCallerIdentity returned no ARN for these credentials");
    return Arn;
  } catch (err) {
    if (err instanceof AccessDeniedError) throw err;
    throw translateAwsError(err, "find who is calling (STS GetCallerIdentity)");
  } finally {
    sts.destroy();
  }
}
