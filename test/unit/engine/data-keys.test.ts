import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ActiveDataKey, DataKeyRotation } from "../../../lib/engine/keys/data-keys.ts";
import { TransientError } from "../../../lib/errors.ts";
import type { DataKey, EncryptionContext, KeyService } from "../../../lib/ports/key-service.ts";

/** A key service that counts the keys it generates; it can be held back or made to fail. */
class FakeKeys implements KeyService {
  readonly contexts: EncryptionContext[] = [];
  failures = 0;
  gate: Promise<void> = Promise.resolve();

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    this.contexts.push(context);
    await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new TransientError("key service throttled");
    }
    const plaintext = randomBytes(32);
    return {
      plaintext,
      wrapped: Buffer.concat([Buffer.from("wrapped:"), plaintext]),
      masterKeyId: "master-1",
    };
  }

  async decryptDataKey(): Promise<Buffer> {
    throw new Error("the backup path never unwraps pack keys");
  }
}

const LIMITS = { maxBytes: 1000, maxAgeMs: 60_000 };

function setup() {
  const keys = new FakeKeys();
  const clock = { t: 1_000_000, now: () => clock.t };
  const announced: ActiveDataKey[] = [];
  const rotation = new DataKeyRotation({
    keys,
    vaultId: "vault-1",
    clock,
    limits: LIMITS,
    onNewKey: (k) => announced.push(k),
  });
  return { keys, clock, announced, rotation };
}

describe("DataKeyRotation", () => {
  it("generates the first key on demand, for pack data of this vault, and announces it", async () => {
    const { keys, announced, rotation } = setup();
    expect(keys.contexts).toEqual([]);
    const key = await rotation.current();
    expect(keys.contexts).toEqual([{ vault: "vault-1", purpose: "pack-data" }]);
    expect(key.generation).toBe(1);
    expect(key.ref.masterKeyId).toBe("master-1");
    expect(Buffer.from(key.ref.wrapped, "base64")).toEqual(
      Buffer.concat([Buffer.from("wrapped:"), key.plaintext]),
    );
    expect(announced).toEqual([key]);
  });

  it("keeps the key below maxBytes and rotates once the bytes sealed under it reach it", async () => {
    const { keys, rotation } = setup();
    const first = await rotation.current();
    rotation.account(LIMITS.maxBytes - 1);
    expect(await rotation.current()).toBe(first);
    rotation.account(1);
    const second = await rotation.current();
    expect(second.generation).toBe(2);
    expect(second.plaintext).not.toEqual(first.plaintext);
    expect(keys.contexts).toHaveLength(2);
    // The count starts again for the new key.
    rotation.account(LIMITS.maxBytes - 1);
    expect(await rotation.current()).toBe(second);
  });

  it("rotates once the key is maxAgeMs old, by the injected clock", async () => {
    const { clock, rotation } = setup();
    const first = await rotation.current();
    clock.t += LIMITS.maxAgeMs - 1;
    expect(await rotation.current()).toBe(first);
    clock.t += 1;
    const second = await rotation.current();
    expect(second.generation).toBe(2);
    clock.t += LIMITS.maxAgeMs - 1;
    expect(await rotation.current()).toBe(second);
  });

  it("gives concurrent callers one shared rotation", async () => {
    const { keys, announced, rotation } = setup();
    let release!: () => void;
    keys.gate = new Promise((resolve) => {
      release = resolve;
    });
    const waiting = Array.from({ length: 10 }, () => rotation.current());
    release();
    const got = await Promise.all(waiting);
    expect(new Set(got).size).toBe(1);
    expect(keys.contexts).toHaveLength(1);
    rotation.account(LIMITS.maxBytes);
    const again = await Promise.all(Array.from({ length: 10 }, () => rotation.current()));
    expect(new Set(again).size).toBe(1);
    expect(again[0]!.generation).toBe(2);
    expect(keys.contexts).toHaveLength(2);
    expect(announced.map((k) => k.generation)).toEqual([1, 2]);
  });

  it("does not remember a failed rotation: every waiter sees the failure, the next call retries", async () => {
    const { keys, announced, rotation } = setup();
    keys.failures = 1;
    const results = await Promise.allSettled([rotation.current(), rotation.current()]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(TransientError);
    expect(announced).toEqual([]);
    const key = await rotation.current();
    expect(key.generation).toBe(1);
    expect(keys.contexts).toHaveLength(2);
  });
});
