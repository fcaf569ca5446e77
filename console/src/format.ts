import type { Policy, Schedule } from "./types.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** `1536` → `1.5 KiB`. */
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

/** An epoch-ms time as `2026-05-01 12:00 UTC`. */
export function time(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A duration in ms as `3 min`, `5 h 2 min`, `2 d 4 h`. */
export function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const HOUR = 60 * 60 * 1000;

/**
 * The recovery point objective a schedule promises: the longest gap between two of its slots
 * (a daily schedule at 01:00 and 13:00 promises 12 h). Undefined for a cron expression, whose
 * gaps the console does not work out.
 */
export function scheduleRpo(schedule: Schedule): number | undefined {
  const slots = (schedule.times?.length ?? 0) || 1;
  switch (schedule.kind) {
    case "hourly":
      return (schedule.everyHours ?? 24) * HOUR;
    case "daily":
      return longestGap(schedule.times ?? [], 24 * 60) ?? (24 * HOUR) / slots;
    case "weekly":
      return (7 * 24 * HOUR) / ((schedule.days?.length ?? 1) * slots);
    default:
      return undefined;
  }
}

/** The longest gap, in ms, between "HH:MM" times repeating every `periodMinutes`. */
function longestGap(times: readonly string[], periodMinutes: number): number | undefined {
  const minutes = times.map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5))).sort((a, b) => a - b);
  if (minutes.length === 0) return undefined;
  let gap = 0;
  for (let i = 0; i < minutes.length; i++) {
    const next = i + 1 < minutes.length ? minutes[i + 1]! : minutes[0]! + periodMinutes;
    gap = Math.max(gap, next - minutes[i]!);
  }
  return gap * 60_000;
}

/** The RPO of the disk's policy, if it has one the console can judge. */
export function policyRpo(policies: readonly Policy[], name: string | undefined): number | undefined {
  const policy = policies.find((p) => p.name === name);
  return policy ? scheduleRpo(policy.definition.schedule) : undefined;
}
