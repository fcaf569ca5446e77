/**
 * The keys whose numbers are points in time (epoch milliseconds in the model): `--json` prints
 * them as ISO 8601, as the tables do, so that scripts never see a bare epoch number.
 */
const TIME_KEYS: ReadonlySet<string> = new Set([
  "created",
  "updated",
  "started",
  "ended",
  "heartbeat",
  "deleteAfter",
  "retainUntil",
  "at",
  "expires",
  "approved",
  "used",
  "until",
  "slot",
]);

/** `data` as `--json` prints it: indented, with every timestamp in ISO 8601 (UTC, milliseconds). */
export function toJsonOutput(data: unknown): string {
  return JSON.stringify(
    data,
    (key, value: unknown) =>
      TIME_KEYS.has(key) && typeof value === "number" && Number.isFinite(value)
        ? new Date(value).toISOString()
        : value,
    2,
  );
}
