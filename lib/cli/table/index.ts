import type { CommandSpec } from "../spec.ts";
import { ADMIN_COMMANDS } from "./admin-commands.ts";
import { DATA_COMMANDS } from "./data-commands.ts";
import { PROTECTION_COMMANDS } from "./protection-commands.ts";
import { VM_COMMANDS } from "./vm-commands.ts";

/** Every command of the CLI, in the order `blockvault --help` lists them. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  ...DATA_COMMANDS,
  ...PROTECTION_COMMANDS,
  ...VM_COMMANDS,
  ...ADMIN_COMMANDS,
};
