import { DocumentPrincipalStore, type PrincipalDocument } from "../../lib/adapters/principal-document.ts";
import type { PrincipalStore } from "../../lib/ports/principals.ts";

/** A principal store in memory, of IAM identities (as on AWS) unless told otherwise. */
export function memoryPrincipalStore(identities: "token" | "iam" = "iam"): PrincipalStore {
  let doc: PrincipalDocument = { revision: 0, principals: [] };
  return new DocumentPrincipalStore(
    {
      where: "memory",
      load: async () => doc,
      replace: async (next, expected) => {
        if (doc.revision !== expected) return false;
        doc = structuredClone(next);
        return true;
      },
    },
    identities,
  );
}
