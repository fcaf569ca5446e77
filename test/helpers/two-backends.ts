import { join } from "node:path";
import { initAwsVault } from "../../lib/compose/aws.ts";
import { initLocalVault } from "../../lib/compose/local.ts";
import type { Clock } from "../../lib/ports/clock.ts";
import type { Vault } from "../../lib/vault.ts";
import { emulatorConfig, uniqueName } from "./aws.ts";

/** Creates a fresh vault on one backend, in `root` where it keeps files, on `clock`. */
export type VaultFactory = (root: string, clock: Clock) => Promise<Vault>;

/**
 * The two places a vault lives: the embedded one (files, SQLite, a keyring) and the one on AWS
 * (S3, DynamoDB, KMS on the emulator the suite starts). A rule the vault promises must hold on
 * both: the rules run above the ports, and these tests prove no adapter lets one through.
 */
export const BACKENDS: readonly (readonly [string, VaultFactory])[] = [
  [
    "embedded",
    (root, clock) => initLocalVault(join(root, "vault"), { name: "adv", blockSize: 4096 }, { clock }),
  ],
  [
    "emulator",
    (_root, clock) =>
      initAwsVault(
        { bucket: uniqueName("adv"), table: uniqueName("adv"), aws: emulatorConfig(), clock },
        { name: uniqueName("adv"), blockSize: 4096 },
      ),
  ],
];
