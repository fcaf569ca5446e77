import { ValidationError } from "../errors.ts";

/** `--port`: 0 (any free port) to 65535. */
export function parsePort(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new ValidationError(`--port must be an integer from 1 to 65535 (0: any free port), got "${text}"`);
  }
  return port;
}
