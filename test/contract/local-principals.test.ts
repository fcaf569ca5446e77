import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filePrincipalStore, resolvePrincipal } from "../../lib/adapters/local/principals.ts";
import { IntegrityError } from "../../lib/errors.ts";
import { tokenDigest } from "../../lib/ports/principals.ts";
import { OWNER } from "../../lib/rules/roles.ts";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { describePrincipalStoreContract } from "./principals.contract.ts";

describePrincipalStoreContract("principals.json", async () => {
  const dir = await tempDir("principals");
  return {
    store: filePrincipalStore(join(dir, "principals.json")),
    name: (i) => `p${i}`,
    cleanup: () => removeDir(dir),
  };
});

describe("principals.json", () => {
  it("is private (mode 0600), and a version-1 file loads with its principals as the owner's", async () => {
    const dir = await tempDir("principals");
    try {
      const file = join(dir, "principals.json");
      const v1 = [{ name: "alice", roles: ["security-admin"], tokenSha256: tokenDigest("bv_a"), created: 5 }];
      await writeFile(file, JSON.stringify({ version: 1, principals: v1 }));
      const store = filePrincipalStore(file);
      expect(await store.list()).toEqual({
        revision: 0,
        principals: [
          {
            name: "alice",
            roles: ["security-admin"],
            created: 5,
            createdBy: "owner",
            rolesSince: 5,
            lineage: [],
          },
        ],
      });
      expect(await resolvePrincipal(file, "bv_a")).toEqual({ name: "alice", roles: ["security-admin"] });
      await store.remove("alice", 0);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({
        version: 2,
        revision: 1,
        principals: [],
      });
    } finally {
      await removeDir(dir);
    }
  });

  it("takes over a lock left by a killed process, and names a damaged file", async () => {
    const dir = await tempDir("principals");
    try {
      const file = join(dir, "principals.json");
      // A pid no process has: the change that held the lock was killed.
      await writeFile(join(dir, ".principals.json.lock"), "2147483646\n");
      const store = filePrincipalStore(file);
      expect(await resolvePrincipal(file, undefined)).toBe(OWNER);
      await store.add(
        [{ name: "a", roles: ["reader"], created: 1, createdBy: "owner", rolesSince: 1, lineage: [] }],
        0,
      );
      expect((await store.list()).revision).toBe(1);
      await writeFile(file, "{ not json");
      await expect(store.list()).rejects.toThrow(IntegrityError);
      await expect(store.list()).rejects.toThrow(/principals\.json is not valid JSON/);
    } finally {
      await removeDir(dir);
    }
  });
});
