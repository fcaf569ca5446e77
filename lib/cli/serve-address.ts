import { lookup } from "node:dns/promises";
import { isLoopbackAddress } from "../app/http/local-guard.ts";
import { ValidationError } from "../errors.ts";

/** Every address a name resolves to (the system resolver, as `listen` would use). */
export type ResolveAll = (host: string) => Promise<readonly string[]>;

/** The system resolver: `dns.lookup` with `all`, so no address of the name is left unchecked. */
export const systemResolver: ResolveAll = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The address `serve` listens on for `--host HOST`: the name resolved, every address it
 * resolves to checked, and the first one returned, so the server listens on what was checked
 * rather than on a name that could resolve differently a moment later. While every caller would
 * act as the vault's owner (`open`), only loopback is allowed: a name is judged by the addresses
 * it resolves to, never by its spelling (`127.attacker.example` is not loopback because it
 * starts with "127.").
 */
export async function listenAddress(
  host: string,
  open: { readonly why: string } | undefined,
  resolve: ResolveAll = systemResolver,
): Promise<string> {
  if (host === "" || /[\s\0/@]/.test(host))
    throw new ValidationError(`--host "${host}" is not a host name or address`);
  let addresses: readonly string[];
  try {
    addresses = await resolve(host.replace(/^\[|\]$/g, ""));
  } catch (err) {
    const code = (err as { code?: string }).code ?? "no address";
    throw new ValidationError(`--host ${host} does not resolve (${code}): name an address or a known host`);
  }
  if (addresses.length === 0) throw new ValidationError(`--host ${host} does not resolve to any address`);
  const outside = addresses.filter((a) => !isLoopbackAddress(a));
  if (open && outside.length > 0) {
    throw new ValidationError(
      `refusing to serve on ${host} (${outside.join(", ")} is not loopback): every caller would act as the vault's owner; ${open.why}`,
    );
  }
  return addresses[0]!;
}
