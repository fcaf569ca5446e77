import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { type AwsConfig, endpointFor } from "./clients.ts";

/** How long one set of the role's credentials lasts; the provider renews them before they end. */
const SESSION_SECONDS = 3600;

/**
 * `config` acting as `roleArn` (STS AssumeRole, from `config`'s own credentials and endpoints):
 * what a copy into another account's vault runs with, so that it holds no right there but the
 * role's. The session is named for the audit trail of the destination's account (CloudTrail).
 */
export function assumedRole(config: AwsConfig, roleArn: string, sessionName: string): AwsConfig {
  const endpoint = endpointFor(config, "STS");
  const credentials = fromTemporaryCredentials({
    params: { RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: SESSION_SECONDS },
    clientConfig: {
      region: config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
      ...(endpoint ? { endpoint } : {}),
    },
    ...(config.credentials ? { masterCredentials: config.credentials } : {}),
  });
  return { ...config, credentials };
}
