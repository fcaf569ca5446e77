import { randomUUID } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSServiceException,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { kmsClient } from "../../lib/adapters/aws/clients.ts";
import { createVaultKey, findKeyByAlias, KmsKeyService } from "../../lib/adapters/aws/kms-key-service.ts";
import {
  AccessDeniedError,
  AlreadyExistsError,
  ConflictError,
  KeyError,
  NotFoundError,
  TransientError,
  ValidationError,
} from "../../lib/errors.ts";
import type { EncryptionContext } from "../../lib/ports/key-service.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import { describeKeyServiceContract } from "./key-service.contract.ts";

const ctx: EncryptionContext = { vault: "v1", purpose: "pack-data" };

describeKeyServiceContract("KmsKeyService on moto", async () => {
  const kms = kmsClient(emulatorConfig());
  const a = await createVaultKey(kms, { description: "contract key a" });
  const b = await createVaultKey(kms, { description: "contract key b" });
  return {
    keys: new KmsKeyService(kms, a),
    other: new KmsKeyService(kms, b),
    cleanup: async () => kms.destroy(),
  };
});

describe("KmsKeyService on moto", () => {
  const kms = kmsClient(emulatorConfig());

  it("reports the key ARN as masterKeyId whether configured by ARN, key id or alias", async () => {
    const alias = uniqueName("bv-key");
    const arn = await createVaultKey(kms, { alias, description: "masterKeyId" });
    expect(arn).toMatch(/^arn:aws:kms:us-east-1:\d+:key\//);
    const keyId = arn.split("/").at(-1)!;
    for (const configured of [arn, keyId, `alias/${alias}`]) {
      const keys = new KmsKeyService(kms, configured);
      const key = await keys.generateDataKey(ctx);
      expect(key.masterKeyId, configured).toBe(arn);
      expect(await keys.decryptDataKey(key.wrapped, ctx)).toStrictEqual(key.plaintext);
    }
  });

  it("rejects a key that does not exist with a NotFoundError naming it", async () => {
    const missingId = randomUUID();
    const missing = new KmsKeyService(kms, missingId);
    const generated = await missing.generateDataKey(ctx).catch((e: unknown) => e);
    expect(generated).toBeInstanceOf(NotFoundError);
    expect((generated as Error).message).toContain(missingId);
    const real = new KmsKeyService(kms, await createVaultKey(kms, { description: "real" }));
    const { wrapped } = await real.generateDataKey(ctx);
    const decrypted = await missing.decryptDataKey(wrapped, ctx).catch((e: unknown) => e);
    expect(decrypted).toBeInstanceOf(NotFoundError);
    expect((decrypted as Error).message).toContain(missingId);
  });

  it("finds a created key by its alias, with or without the alias/ prefix", async () => {
    const alias = uniqueName("bv-find");
    const arn = await createVaultKey(kms, { alias: `alias/${alias}`, description: "find me" });
    expect(await findKeyByAlias(kms, alias)).toBe(arn);
    expect(await findKeyByAlias(kms, `alias/${alias}`)).toBe(arn);
    expect(await findKeyByAlias(kms, uniqueName("bv-none"))).toBeUndefined();
    const described = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(described.KeyMetadata).toMatchObject({ KeyUsage: "ENCRYPT_DECRYPT", Description: "find me" });
    expect(described.KeyMetadata?.KeySpec).toBe("SYMMETRIC_DEFAULT");
  });

  it("refuses a taken alias with AlreadyExistsError and schedules the orphaned key for deletion", async () => {
    const alias = uniqueName("bv-taken");
    const first = await createVaultKey(kms, { alias, description: "first" });
    const created: string[] = [];
    const watched = kmsClient(emulatorConfig());
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "CreateKeyCommand") {
          created.push((result.output as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn);
        }
        return result;
      },
      { step: "initialize" },
    );
    const err = await createVaultKey(watched, { alias, description: "second" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect((err as Error).message).toContain(alias);
    expect(await findKeyByAlias(kms, alias)).toBe(first);
    expect(created).toHaveLength(1);
    const orphan = await kms.send(new DescribeKeyCommand({ KeyId: created[0] }));
    expect(orphan.KeyMetadata?.KeyState).toBe("PendingDeletion");
  });

  it("rotates on demand: new data keys keep working and keys wrapped before still decrypt", async () => {
    const alias = uniqueName("bv-rotate");
    const arn = await createVaultKey(kms, { alias, description: "rotation" });
    const keys = new KmsKeyService(kms, `alias/${alias}`);
    const before = await keys.generateDataKey(ctx);
    const rotation = await keys.rotate();
    expect(rotation.keyArn).toBe(arn);
    // moto reports no key material ids, so both name the key itself.
    expect(rotation.previous).toBe(arn);
    expect(rotation.current).toBe(arn);
    const { Rotations } = await kms.send(new ListKeyRotationsCommand({ KeyId: arn }));
    expect(Rotations?.map((r) => r.RotationType)).toEqual(["ON_DEMAND"]);
    expect(await keys.decryptDataKey(before.wrapped, ctx)).toStrictEqual(before.plaintext);
    const after = await keys.generateDataKey(ctx);
    expect(after.masterKeyId).toBe(arn);
    expect(await keys.decryptDataKey(after.wrapped, ctx)).toStrictEqual(after.plaintext);
  });

  it("rejects rotating a key that does not exist with a NotFoundError naming it", async () => {
    const missingId = randomUUID();
    const err = await new KmsKeyService(kms, missingId).rotate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(missingId);
  });

  it("refuses invalid and AWS-reserved aliases before calling KMS", async () => {
    const mocked = kmsClient(emulatorConfig());
    const mock = mockClient(mocked);
    for (const alias of ["aws/mine", "alias/aws/mine", "has space", "", "alias/"]) {
      await expect(createVaultKey(mocked, { alias, description: "x" })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(findKeyByAlias(mocked, alias)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(mock.calls()).toHaveLength(0);
  });
});

/** A KMS error as the SDK raises it. */
function kmsError(name: string, status: number, fault: "client" | "server" = "client"): KMSServiceException {
  return new KMSServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe("KmsKeyService failure translation (fault injection)", () => {
  const keyId = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const kms = kmsClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const mock = mockClient(kms);
  const keys = new KmsKeyService(kms, keyId);
  const wrapped = Buffer.alloc(96, 7);
  afterEach(() => {
    mock.reset();
  });
  const both = () => [() => keys.generateDataKey(ctx), () => keys.decryptDataKey(wrapped, ctx)];

  it("makes a disabled key a non-retryable KeyError naming the key (fault injection: moto does not refuse disabled keys)", async () => {
    for (const code of ["DisabledException", "KMSInvalidStateException"]) {
      mock.reset();
      mock.onAnyCommand().rejects(kmsError(code, 400));
      for (const call of both()) {
        const err = await call().catch((e: unknown) => e);
        expect(err, code).toBeInstanceOf(KeyError);
        expect((err as KeyError).retryable).toBe(false);
        expect((err as Error).message).toContain(keyId);
      }
    }
  });

  it("makes throttling and KMS-side failures retryable TransientErrors (fault injection: moto never throttles)", async () => {
    for (const [code, status] of [
      ["ThrottlingException", 400],
      ["KMSInternalException", 500],
      ["DependencyTimeoutException", 503],
    ] as const) {
      mock.reset();
      mock.onAnyCommand().rejects(kmsError(code, status, status >= 500 ? "server" : "client"));
      for (const call of both()) {
        const err = await call().catch((e: unknown) => e);
        expect(err, code).toBeInstanceOf(TransientError);
        expect((err as TransientError).retryable).toBe(true);
      }
    }
  });

  it("makes wrong-key answers KeyErrors, and a denied GenerateDataKey an AccessDeniedError", async () => {
    for (const code of ["InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"]) {
      mock.reset();
      mock.on(DecryptCommand).rejects(kmsError(code, 400));
      await expect(keys.decryptDataKey(wrapped, ctx), code).rejects.toBeInstanceOf(KeyError);
    }
    mock.on(GenerateDataKeyCommand).rejects(kmsError("AccessDeniedException", 400));
    await expect(keys.generateDataKey(ctx)).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it("names the key and binds the context in both calls", async () => {
    mock.on(GenerateDataKeyCommand).resolves({
      Plaintext: new Uint8Array(32).fill(1),
      CiphertextBlob: new Uint8Array(96).fill(2),
      KeyId: keyId,
    });
    mock.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32).fill(1), KeyId: keyId });
    const context: EncryptionContext = { vault: "v9", purpose: "dedup-key", disk: "d" };
    const key = await keys.generateDataKey(context);
    await keys.decryptDataKey(key.wrapped, context);
    expect(mock.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({
      KeyId: keyId,
      KeySpec: "AES_256",
      EncryptionContext: { vault: "v9", purpose: "dedup-key", disk: "d" },
    });
    expect(mock.commandCalls(DecryptCommand)[0]!.args[0].input).toMatchObject({
      KeyId: keyId,
      EncryptionContext: { vault: "v9", purpose: "dedup-key", disk: "d" },
    });
  });

  it("refuses empty and oversized blobs as KeyErrors without calling KMS", async () => {
    for (const blob of [Buffer.alloc(0), Buffer.alloc(6145, 1)]) {
      await expect(keys.decryptDataKey(blob, ctx)).rejects.toBeInstanceOf(KeyError);
    }
    expect(mock.calls()).toHaveLength(0);
  });

  it("rotates by key ARN and reports key material ids where KMS has them (fault injection: moto reports none)", async () => {
    mock
      .on(DescribeKeyCommand)
      .resolvesOnce({ KeyMetadata: { KeyId: "k", Arn: keyId, CurrentKeyMaterialId: "m1" } })
      .resolvesOnce({ KeyMetadata: { KeyId: "k", Arn: keyId, CurrentKeyMaterialId: "m2" } });
    mock.on(RotateKeyOnDemandCommand).resolves({ KeyId: keyId });
    const aliased = new KmsKeyService(kms, "alias/vault");
    expect(await aliased.rotate()).toEqual({ previous: "m1", current: "m2", keyArn: keyId });
    expect(mock.commandCalls(DescribeKeyCommand)[0]!.args[0].input).toEqual({ KeyId: "alias/vault" });
    expect(mock.commandCalls(RotateKeyOnDemandCommand)[0]!.args[0].input).toEqual({ KeyId: keyId });
  });

  it("translates rotation refusals and does not retry them (fault injection: moto never refuses a rotation)", async () => {
    const cases = [
      ["ConflictException", ConflictError, /already in progress/],
      ["UnsupportedOperationException", ValidationError, /does not support on-demand rotation/],
      ["LimitExceededException", Error, /limit of on-demand rotations/],
      ["DisabledException", KeyError, /disabled or pending deletion/],
    ] as const;
    for (const [code, type, message] of cases) {
      mock.reset();
      mock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: "k", Arn: keyId } });
      mock.on(RotateKeyOnDemandCommand).rejects(kmsError(code, 400));
      const err = await keys.rotate().catch((e: unknown) => e);
      expect(err, code).toBeInstanceOf(type);
      expect((err as Error).message, code).toMatch(message);
      expect((err as KeyError).retryable, code).toBe(false);
      expect(mock.commandCalls(RotateKeyOnDemandCommand), code).toHaveLength(1);
    }
  });

  it("refuses an empty key id", () => {
    expect(() => new KmsKeyService(kms, "")).toThrow(KeyError);
  });

  it("retries a throttled CreateKey but not one refused by the key quota", async () => {
    mock
      .on(CreateKeyCommand)
      .rejectsOnce(kmsError("ThrottlingException", 400))
      .rejectsOnce(kmsError("LimitExceededException", 400));
    await expect(createVaultKey(kms, { description: "x" })).rejects.toBeInstanceOf(TransientError);
    const err = await createVaultKey(kms, { description: "x" }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(TransientError);
    expect((err as KeyError).retryable).toBe(false);
    expect((err as KeyError).code).toBe("LIMIT_EXCEEDED");
  });
});
