import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { VENV_DIR } from "../emulator/moto.ts";

/** The schemathesis release the fuzz test is written against (its v4 CLI and checks). */
export const SCHEMATHESIS_REQUIREMENT = "schemathesis==4.32.5";

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 600_000 });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`,
  };
}

/**
 * The `st` command of schemathesis in `.venv` (the virtualenv the AWS emulator uses), installed
 * from PyPI on first use. Throws, saying what to install, when that is impossible.
 */
export function ensureSchemathesisInstalled(venvDir = VENV_DIR): string {
  const bin = (name: string) => path.join(venvDir, "bin", name);
  const st = bin("st");
  const wanted = SCHEMATHESIS_REQUIREMENT.split("==")[1]!;
  if (existsSync(st) && run(st, ["--version"]).output.includes(wanted)) return st;
  if (!existsSync(bin("python"))) {
    const venv = run(process.env.PYTHON ?? "python3", ["-m", "venv", venvDir]);
    if (!venv.ok) throw missing(`could not create a virtualenv:\n${venv.output}`);
  }
  const pip = run(bin("python"), ["-m", "pip", "install", "--quiet", SCHEMATHESIS_REQUIREMENT]);
  if (!pip.ok) throw missing(`pip could not install it:\n${pip.output}`);
  return st;
}

function missing(detail: string): Error {
  return new Error(
    `The API fuzz test needs Python 3 with venv and pip, to install ${SCHEMATHESIS_REQUIREMENT} into .venv. ${detail}`,
  );
}
