/**
 * How long a holder of a job or a lease may go without saying it is alive before others take it
 * for dead (see docs/design.md, "Crashes and concurrent maintenance"). Holders renew every
 * quarter of the window, so three renewals in a row must fail before anyone gives up on them.
 */
export const LIVENESS_WINDOW_MS = 60_000;

/**
 * The window in force: {@link LIVENESS_WINDOW_MS}, unless `BLOCKVAULT_LIVENESS_WINDOW_MS` sets
 * another (at least 200 ms). Only tests set it, so that a killed process is recognised as dead
 * in a second rather than a minute; every process sharing a vault must use the same value.
 */
export function livenessWindowMs(): number {
  const raw = process.env.BLOCKVAULT_LIVENESS_WINDOW_MS;
  if (raw === undefined || raw === "") return LIVENESS_WINDOW_MS;
  const ms = Number(raw);
  return Number.isSafeInteger(ms) && ms >= 200 ? ms : LIVENESS_WINDOW_MS;
}

/** How often a holder renews its heartbeat or lease: a quarter of the window. */
export function heartbeatEveryMs(): number {
  return Math.floor(livenessWindowMs() / 4);
}

/**
 * The time heartbeats and leases are stamped and judged with: this machine's clock, never the
 * vault's logical one. `run-due --at` (and tests) move the vault's clock, which must neither make
 * every live holder look dead nor take a lease that seems to last for days.
 */
export function livenessNow(): number {
  return Date.now();
}
