import { describe, expect, it } from "vitest";
import { parsePort } from "../../../lib/cli/port.ts";
import { listenAddress, type ResolveAll } from "../../../lib/cli/serve-address.ts";
import { ValidationError } from "../../../lib/errors.ts";

/** A resolver that knows only these names (no DNS is asked). */
function resolver(names: Record<string, string[]>): ResolveAll {
  return async (host) => {
    const found = names[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found;
  };
}

const OPEN = { why: "add principals first (blockvault principal add)" };
const names = resolver({
  "127.0.0.1": ["127.0.0.1"],
  localhost: ["127.0.0.1", "::1"],
  "::1": ["::1"],
  "127.attacker.example": ["203.0.113.7"],
  "half.example": ["127.0.0.1", "198.51.100.2"],
  "0.0.0.0": ["0.0.0.0"],
});

describe("serve --host", () => {
  it("listens on the checked address of a loopback name", async () => {
    expect(await listenAddress("localhost", OPEN, names)).toBe("127.0.0.1");
    expect(await listenAddress("[::1]", OPEN, names)).toBe("::1");
  });

  it("judges a name by what it resolves to, not by how it is spelt", async () => {
    await expect(listenAddress("127.attacker.example", OPEN, names)).rejects.toThrow(
      /refusing to serve on 127\.attacker\.example \(203\.0\.113\.7 is not loopback\).*principal add/,
    );
    // One non-loopback address among loopback ones is enough to refuse.
    await expect(listenAddress("half.example", OPEN, names)).rejects.toThrow(
      /198\.51\.100\.2 is not loopback/,
    );
    await expect(listenAddress("0.0.0.0", OPEN, names)).rejects.toBeInstanceOf(ValidationError);
  });

  it("allows other addresses once the vault has principals", async () => {
    expect(await listenAddress("0.0.0.0", undefined, names)).toBe("0.0.0.0");
    expect(await listenAddress("127.attacker.example", undefined, names)).toBe("203.0.113.7");
  });

  it("refuses a name that does not resolve with one clear line", async () => {
    const attempt = listenAddress("no-such-host.invalid", undefined, names);
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/^--host no-such-host\.invalid does not resolve \(ENOTFOUND\)/);
    await expect(listenAddress("a b", undefined, names)).rejects.toThrow(/not a host name/);
  });
});

describe("serve --port", () => {
  it("takes 0 to 65535 and refuses anything else naming the option", () => {
    expect(parsePort(undefined, 8080)).toBe(8080);
    expect(parsePort("0", 8080)).toBe(0);
    expect(parsePort("65535", 8080)).toBe(65535);
    for (const bad of ["65536", "-1", "http", "1e3", "", "99999999"]) {
      expect(() => parsePort(bad, 8080), bad).toThrow(/^--port must be an integer from 1 to 65535/);
    }
  });
});
