import { CONFIG_KEY } from "../../engine/store/layout.ts";
import type { Vault } from "../../vault.ts";

/** One dependency's state: reachable, or the one-line reason it is not. */
export interface HealthCheck {
  readonly ok: boolean;
  /**
   * That it failed, without the cause: `/healthz` answers without credentials, and a cause can
   * name paths, hosts or SDK internals. The cause goes to the server's log.
   */
  readonly error?: string;
}

/** The server's health: ok only when the catalog and the object store both answer. */
export interface Health {
  readonly status: "ok" | "unavailable";
  readonly checks: { readonly catalog: HealthCheck; readonly objectStore: HealthCheck };
}

/** How long a dependency may take to answer before it counts as unreachable. */
export const HEALTH_TIMEOUT_MS = 5_000;

async function probe(
  what: string,
  run: () => Promise<unknown>,
  log: (line: string) => void,
): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${HEALTH_TIMEOUT_MS} ms`)),
      HEALTH_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([run(), timeout]);
    return { ok: true };
  } catch (err) {
    log(`health: ${what} unreachable: ${err instanceof Error ? err.message : String(err)}`);
    return { ok: false, error: `${what} unreachable` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks that the vault's catalog and object store are reachable, by a real read of each: the
 * vault's record from the catalog, the vault's configuration object's metadata from the store.
 */
export async function checkHealth(vault: Vault, log: (line: string) => void = () => {}): Promise<Health> {
  const { catalog, store } = vault.ctx.deps;
  const [catalogCheck, storeCheck] = await Promise.all([
    probe("catalog", () => catalog.getVault(vault.id), log),
    probe("object store", () => store.head(CONFIG_KEY), log),
  ]);
  return {
    status: catalogCheck.ok && storeCheck.ok ? "ok" : "unavailable",
    checks: { catalog: catalogCheck, objectStore: storeCheck },
  };
}
