import { describe, expect, it } from "vitest";
import { LocalKeyService } from "../../../lib/adapters/local/keyring.ts";
import { RetryingKeyService } from "../../../lib/decorators/retrying-key-service.ts";
import { KeyError, TransientError } from "../../../lib/errors.ts";
import type { EncryptionContext } from "../../../lib/ports/key-service.ts";
import { FaultScript, instantPolicy, withFaults } from "./fakes.ts";

const ctx: EncryptionContext = { vault: "v1", purpose: "pack-data" };

function setup() {
  const script = new FaultScript();
  const policy = instantPolicy();
  const keys = new RetryingKeyService(
    withFaults(new LocalKeyService("k1", Buffer.alloc(32, 7)), script),
    policy,
  );
  return { script, policy, keys };
}

describe("RetryingKeyService", () => {
  it("retries throttled key generation and unwrapping", async () => {
    const { script, policy, keys } = setup();
    script.fail("generateDataKey", "before").fail("generateDataKey", "after");
    const key = await keys.generateDataKey(ctx);
    script.fail("decryptDataKey", "before", 3);
    expect(await keys.decryptDataKey(key.wrapped, ctx)).toStrictEqual(key.plaintext);
    expect(script.count("generateDataKey")).toBe(3);
    expect(script.count("decryptDataKey")).toBe(4);
    expect(policy.delays).toHaveLength(5);
  });

  it("surfaces a KeyError for a wrong context at once", async () => {
    const { script, keys } = setup();
    const key = await keys.generateDataKey(ctx);
    await expect(keys.decryptDataKey(key.wrapped, { ...ctx, vault: "v2" })).rejects.toBeInstanceOf(KeyError);
    expect(script.count("decryptDataKey")).toBe(1);
  });

  it("gives up after five attempts, naming the operation", async () => {
    const { script, keys } = setup();
    script.fail("generateDataKey", "before", 5);
    const err = await keys.generateDataKey(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(
      /^generate data key for pack-data of vault v1 failed after 5 attempts/,
    );
  });
});
