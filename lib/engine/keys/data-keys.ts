import type { Clock } from "../../ports/clock.ts";
import type { KeyService } from "../../ports/key-service.ts";
import type { WrappedKeyRef } from "../pack/pack.ts";

/** A data key in use: its generation number (for workers), plaintext and wrapped form. */
export interface ActiveDataKey {
  readonly generation: number;
  readonly plaintext: Buffer;
  readonly ref: WrappedKeyRef;
}

/** When a data key is retired: after this many sealed bytes or this much time, whichever first. */
export interface RotationLimits {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

/** 4 GiB or one hour: far below AES-GCM's random-nonce limits, and bounds what one key exposes. */
export const DEFAULT_ROTATION: RotationLimits = { maxBytes: 4 * 1024 ** 3, maxAgeMs: 60 * 60 * 1000 };

/**
 * Hands out pack data keys, generating a fresh one from the key service when the current key has
 * sealed enough bytes or lived long enough. Blobs sealed under different keys never share a
 * pack: the backup keeps one open pack per key generation.
 */
export class DataKeyRotation {
  private active: ActiveDataKey | undefined;
  private pending: Promise<ActiveDataKey> | undefined;
  private bornAt = 0;
  private used = 0;
  private generation = 0;
  private readonly keys: KeyService;
  private readonly vaultId: string;
  private readonly clock: Clock;
  private readonly limits: RotationLimits;
  private readonly onNewKey: (key: ActiveDataKey) => void;

  constructor(options: {
    keys: KeyService;
    vaultId: string;
    clock: Clock;
    limits?: RotationLimits;
    onNewKey?: (key: ActiveDataKey) => void;
  }) {
    this.keys = options.keys;
    this.vaultId = options.vaultId;
    this.clock = options.clock;
    this.limits = options.limits ?? DEFAULT_ROTATION;
    this.onNewKey = options.onNewKey ?? (() => {});
  }

  /** The key to seal the next blocks with; concurrent callers share one rotation. */
  async current(): Promise<ActiveDataKey> {
    const expired =
      this.used >= this.limits.maxBytes || this.clock.now() - this.bornAt >= this.limits.maxAgeMs;
    if (this.active && !expired) return this.active;
    this.pending ??= this.rotate().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async rotate(): Promise<ActiveDataKey> {
    const key = await this.keys.generateDataKey({ vault: this.vaultId, purpose: "pack-data" });
    const active: ActiveDataKey = {
      generation: ++this.generation,
      plaintext: key.plaintext,
      ref: { wrapped: key.wrapped.toString("base64"), masterKeyId: key.masterKeyId },
    };
    this.onNewKey(active);
    this.active = active;
    this.bornAt = this.clock.now();
    this.used = 0;
    return active;
  }

  /** Records bytes sealed under the current key. */
  account(bytes: number): void {
    this.used += bytes;
  }
}
