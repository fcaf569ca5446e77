// Adds principals to a principals.json for ever, printing the name of each add once it returned:
// the crash test kills it (SIGKILL) at random moments. Usage: principals-writer.ts FILE PREFIX
import { filePrincipalStore } from "../../lib/adapters/local/principals.ts";
import { ConflictError } from "../../lib/errors.ts";

const [file, prefix] = process.argv.slice(2) as [string, string];
const store = filePrincipalStore(file);
for (let i = 0; ; i++) {
  const name = `${prefix}-${i}`;
  for (;;) {
    const { revision } = await store.list();
    const record = {
      name,
      roles: ["reader" as const],
      created: i,
      createdBy: "owner",
      rolesSince: i,
      lineage: [],
    };
    try {
      await store.add([record], revision);
      break;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  process.stdout.write(`${name}\n`);
}
