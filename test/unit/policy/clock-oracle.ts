/**
 * A slow, obviously-right model of a zone's clock for checking lib/policy against: it reads
 * the clock through a different Intl formatting than the library and finds instants by brute
 * force, minute by minute, instead of by offsets and bisection.
 */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const readers = new Map<string, Intl.DateTimeFormat>();

/** The zone's clock at `ms` as the UTC epoch ms of the same reading ("2026-03-29 03:00" → Date.UTC of that). */
export function readClock(zone: string, ms: number): number {
  let reader = readers.get(zone);
  if (!reader) {
    reader = new Intl.DateTimeFormat("sv-SE", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    readers.set(zone, reader);
  }
  const text = reader.format(ms);
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!match) throw new Error(`unexpected clock reading ${text}`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + (ms - Math.floor(ms / 1000) * 1000);
}

/** The local date of `ms` as days since 1970-01-01. */
export function clockDate(zone: string, ms: number): number {
  return Math.floor(readClock(zone, ms) / DAY);
}

/** Whether the zone's offset changes at `ms` (the reading jumps between `ms - 1` and `ms`). */
export function isTransition(zone: string, ms: number): boolean {
  return readClock(zone, ms) - ms !== readClock(zone, ms - 1) - (ms - 1);
}

/**
 * The first instant the clock reads `wall` (minute-aligned) or later. Without an offset change
 * within 15 hours that is `wall - offset`; otherwise every minute is tried in turn.
 */
export function firstReading(zone: string, wall: number): number {
  const from = wall - 15 * HOUR;
  const to = wall + 15 * HOUR;
  const offset = readClock(zone, from) - from;
  if (readClock(zone, to) - to === offset) return wall - offset;
  for (let t = from; t <= to; t += MINUTE) if (readClock(zone, t) >= wall) return t;
  throw new Error(`no reading of ${new Date(wall).toISOString()} in ${zone}`);
}

/** The latest local date the clock has shown up to `ms` (a day back is checked minute by minute if the clock went back). */
export function reachedDate(zone: string, ms: number): number {
  let date = clockDate(zone, ms);
  if (readClock(zone, ms - DAY) - (ms - DAY) > readClock(zone, ms) - ms) {
    for (let t = ms - DAY; t <= ms; t += MINUTE) date = Math.max(date, clockDate(zone, t));
  }
  return date;
}
