/**
 * The CLI's exit codes by error code, so that scripts can tell bad input from missing things from
 * corruption; `help` says what each means and is printed by every command's `--help`.
 */
export const EXIT_CODES = {
  INVALID_INPUT: { code: 2, help: "bad input: an unknown command or option, a bad value, a refused path" },
  NOT_FOUND: { code: 3, help: "not found: no such vault, recovery point, policy, file or job" },
  ALREADY_EXISTS: { code: 4, help: "already exists: the vault, policy or principal is already there" },
  INTEGRITY: { code: 5, help: "integrity: stored data is missing, damaged or does not match its catalog" },
  KEY: { code: 6, help: "key: the keyring is missing or cannot unwrap this vault's keys" },
  SOURCE: { code: 7, help: "source: the image cannot be read, or its size changed" },
  CONFLICT: { code: 8, help: "conflict: another operation holds the disk or the vault" },
  ACCESS_DENIED: { code: 9, help: "access denied: the token or role does not allow it" },
  APPROVAL_REQUIRED: { code: 10, help: "approval required: a critical operation needs --approval ID" },
  DISK_FORMAT: {
    code: 11,
    help: "disk format: a partition table, volume group or file system inside the point is damaged or unsupported",
  },
  CONSISTENCY: {
    code: 12,
    help: "consistency: a VM backup fell below the minimum level its policy requires",
  },
} as const;

/** The exit code of an error with `code`; 1 for anything unforeseen. */
export function exitCodeOf(code: string): number {
  return Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code as keyof typeof EXIT_CODES].code : 1;
}

/** The exit codes as help lines. */
export function exitCodeHelp(): string[] {
  return [
    "  0   success",
    "  1   any other failure (a bad token, an archived pack, a service outage), or a failed run-due backup",
    ...Object.values(EXIT_CODES).map((e) => `  ${String(e.code).padEnd(3)} ${e.help}`),
  ];
}
