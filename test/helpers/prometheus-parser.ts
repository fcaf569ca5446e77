import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { VENV_DIR } from "../emulator/moto.ts";

/** Prometheus' own Python client, whose text-format parser checks what `/metrics` serves. */
export const PROMETHEUS_CLIENT_REQUIREMENT = "prometheus-client==0.26.0";

/** One sample as the parser read it. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** One metric family as the parser read it. */
export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: ParsedSample[];
}

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

function run(command: string, args: string[], input?: string) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 600_000, input });
  return {
    ok: result.status === 0,
    stdout: result.stdout ?? "",
    output: `${result.stdout}${result.stderr}${result.error ?? ""}`,
  };
}

/** The virtualenv's python with prometheus-client installed (from PyPI on first use). */
function python(venvDir = VENV_DIR): string {
  const bin = path.join(venvDir, "bin", "python");
  if (existsSync(bin) && run(bin, ["-c", "import prometheus_client"]).ok) return bin;
  if (!existsSync(bin)) {
    const venv = run(process.env.PYTHON ?? "python3", ["-m", "venv", venvDir]);
    if (!venv.ok) throw missing(`could not create a virtualenv:\n${venv.output}`);
  }
  const pip = run(bin, ["-m", "pip", "install", "--quiet", PROMETHEUS_CLIENT_REQUIREMENT]);
  if (!pip.ok) throw missing(`pip could not install it:\n${pip.output}`);
  return bin;
}

function missing(detail: string): Error {
  return new Error(
    `The metrics tests need Python 3 with venv and pip, to install ${PROMETHEUS_CLIENT_REQUIREMENT} into .venv. ${detail}`,
  );
}

/**
 * Parses Prometheus text exposition format with prometheus_client's parser; throws with the
 * parser's message when the text is not valid.
 */
export function parsePrometheus(text: string): ParsedFamily[] {
  const result = run(python(), ["-c", PARSE], text);
  if (!result.ok) throw new Error(`prometheus_client refused the metrics:\n${result.output}`);
  return JSON.parse(result.stdout) as ParsedFamily[];
}

/** The family named `name`; throws naming the families present when it is missing. */
export function family(families: readonly ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric family ${name}; got ${families.map((f) => f.name).join(", ")}`);
  return found;
}

/** The value of the sample `name` with exactly `labels` among its labels. */
export function sample(
  f: ParsedFamily,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return f.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}
