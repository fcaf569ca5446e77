import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../helpers/temp-dir.ts";
import { ensureMotoInstalled } from "./moto.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir("moto-install");
});
afterEach(async () => {
  await removeDir(dir);
});

describe("the emulator harness", () => {
  it("fails, saying what to install, when it can neither find nor install moto", () => {
    const attempt = () =>
      ensureMotoInstalled({ venvDir: join(dir, "venv"), python: join(dir, "no-python-here") });
    expect(attempt).toThrow(/AWS_ENDPOINT_URL/);
    expect(attempt).toThrow(/moto\[server\]>=5\.2\.3/);
    expect(attempt).toThrow(/Python 3 with venv and pip/);
  });
});
