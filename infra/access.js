// serverless.yml loads this file (`${file(infra/access.js):resources}`): the stack's parameters
// for what lies outside the vault, as least-privilege role policies (see access-policies.ts).
import { ACCESS_PARAMS, accessResources, parseAccess } from "./access-policies.ts";
import { copyWriterResources } from "./copy-access.ts";

/** The CloudFormation resources the parameters call for. */
export async function resources({ resolveVariable }) {
  const values = {};
  for (const name of ACCESS_PARAMS) values[name] = String((await resolveVariable(`param:${name}`)) ?? "");
  try {
    const access = parseAccess(values);
    return { Resources: accessResources(access), Outputs: copyWriterResources(access.copyWriters).outputs };
  } catch (err) {
    // serverless prints a failing function's stack; a bad parameter is the user's input, not a
    // bug here, so the error is only its one line naming the parameter.
    throw Object.assign(new Error(err.message), { stack: err.message });
  }
}
