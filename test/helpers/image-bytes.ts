import { createCipheriv, createHash } from "node:crypto";

/**
 * Deterministic incompressible bytes for a seed (AES-CTR keystream), so a failing property run
 * can be replayed from its seed alone.
 */
export function seededBytes(seed: number, length: number): Buffer {
  const key = createHash("sha256").update(`seed:${seed}`).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Deterministic, highly compressible, never-zero text for a seed (exercises the zstd codec). */
export function seededText(seed: number, length: number): Buffer {
  const line = Buffer.from(`line ${seed >>> 0} of a log file on a guest disk\n`);
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += line.length) line.copy(out, at);
  return out;
}

/** SHA-256 hex of some bytes, for compact equality messages. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** True when every byte is zero. */
export function isZero(data: Uint8Array): boolean {
  for (const b of data) if (b !== 0) return false;
  return true;
}
