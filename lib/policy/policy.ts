/**
 * Backup policies: when a disk is backed up (the schedule, in a time zone) and how long its
 * recovery points are kept (grandfather-father-son retention, snapshot tier, archive tier).
 * Plain, JSON-serialisable data; `validatePolicy` (in `validate.ts`) is the only way to
 * turn caller input into a {@link BackupPolicy}, and the pure functions in `schedule.ts` and
 * `retention.ts` assume a validated policy.
 */

/** Days of the week, in `Date#getDay` order (Sunday is 0). */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The kinds of schedule. */
export const ScheduleKind = { Hourly: "hourly", Daily: "daily", Weekly: "weekly" } as const;
export type ScheduleKind = (typeof ScheduleKind)[keyof typeof ScheduleKind];

/** Hours between two slots of an hourly schedule (the intervals Azure's enhanced policy offers). */
export const HOURLY_INTERVALS = [4, 6, 8, 12] as const;
export type HourlyInterval = (typeof HOURLY_INTERVALS)[number];

/**
 * The ranges `validatePolicy` enforces, modelled on Azure Backup's VM policies:
 * daily points up to 9999 days, weekly up to 5163 weeks, monthly up to 1188 months, yearly up
 * to 99 years, instant restore (snapshot tier) 1 to 30 days (Azure's enhanced policy), archive
 * moves after 90 days (Azure's minimum age for archiving) to 10 years.
 */
export const POLICY_LIMITS = {
  nameMaxLength: 128,
  windowHours: { min: 1, max: 24 },
  timesPerDay: { min: 1, max: 6 },
  dailyDays: { min: 7, max: 9999 },
  weeklyWeeks: { min: 1, max: 5163 },
  monthlyMonths: { min: 1, max: 1188 },
  yearlyYears: { min: 1, max: 99 },
  monthDay: { min: 1, max: 28 },
  snapshotRetentionDays: { min: 1, max: 30 },
  archiveAfterDays: { min: 90, max: 3650 },
  cronMaxLength: 100,
  /** A cron schedule runs at most once an hour (as AWS Backup allows), i.e. on one minute. */
  cronMinGapMinutes: 60,
  /** Copy rules of one policy: AWS Backup allows a few copy actions per rule. */
  copyRules: { min: 1, max: 3 },
  /** Days a copy is kept in its destination (AWS Backup's copy lifecycle allows days too). */
  copyRetentionDays: { min: 1, max: 36500 },
  /** Minutes a slot's backup may take past the slot before it counts as a missed RPO. */
  rpoGraceMinutes: { min: 15, max: 10080 },
  /** Days between two scheduled verifications. */
  verifyEveryDays: { min: 1, max: 30 },
  /** The period within which the rotating subsets read every pack once. */
  verifyReadAllWithinDays: { min: 1, max: 365 },
  /** Days between two restore drills. */
  drillEveryDays: { min: 1, max: 90 },
} as const;

/**
 * The checks a restore drill may run on the restored image: a fixed command each, run without a
 * shell on the scratch copy, read-only (`e2fsck -fn`, `fsck.vfat -n`). A policy names one of these,
 * never a command line: a contributor who may edit policies must not gain a way to run programs.
 */
export const DRILL_CHECKS = ["ext4", "vfat"] as const;
export type DrillCheck = (typeof DRILL_CHECKS)[number];

/**
 * Scheduled verification of the points of the policy's disks: every `everyDays` days a run
 * checks every manifest (authentic, bound to its catalog row, every block indexed) and reads and
 * verifies a rotating subset of the packs they need, so that each is read once per
 * `readAllWithinDays` (like restic's `check --read-data-subset=n/t`).
 */
export interface Verification {
  readonly everyDays: number;
  readonly readAllWithinDays: number;
}

/**
 * A restore drill every `everyDays` days: the latest point of each of the policy's disks is
 * restored into a scratch file, its block hashes compared with the manifest's, `check` run on it
 * when named, the time measured against a prediction, and the scratch file removed.
 */
export interface RestoreDrill {
  readonly everyDays: number;
  readonly check?: DrillCheck;
}

/**
 * Every `everyHours` hours, local wall-clock time, inside a daily window: slots at
 * `windowStart + k * everyHours` for every k with `k * everyHours < windowHours`. A window may
 * run past midnight; its slots still belong to the day the window opened.
 */
export interface HourlySchedule {
  readonly kind: "hourly";
  readonly everyHours: HourlyInterval;
  /** Local "HH:MM" (24-hour clock) the window opens at; its first slot. */
  readonly windowStart: string;
  /** Length of the window in hours, 1 to 24. */
  readonly windowHours: number;
}

/** Every day at each of `times`: 1 to 6 distinct local "HH:MM", sorted once validated. */
export interface DailySchedule {
  readonly kind: "daily";
  readonly times: readonly string[];
}

/** On each of `days` (1 to 7 distinct), at each of `times` (as for {@link DailySchedule}). */
export interface WeeklySchedule {
  readonly kind: "weekly";
  /** Sorted Monday first once validated. */
  readonly days: readonly Weekday[];
  readonly times: readonly string[];
}

/** The schedules with a name (`kind`): hourly, daily and weekly. */
export type NamedSchedule = HourlySchedule | DailySchedule | WeeklySchedule;

/**
 * A standard 5-field cron expression ("minute hour day-of-month month day-of-week", e.g.
 * `"0 2 * * 1-5"`), read in the policy's time zone; see `cron.ts` for what it accepts and how
 * its runs become slots. Whitespace is collapsed to single spaces once validated.
 */
export interface CronSchedule {
  readonly cron: string;
}

export type Schedule = NamedSchedule | CronSchedule;

/** Whether `schedule` is a cron expression rather than a named schedule. */
export function isCronSchedule(schedule: Schedule): schedule is CronSchedule {
  return "cron" in schedule;
}

/** A day of the month: 1 to 28 (every month has it), or the month's last day. */
export type MonthDay = number | "last";

/**
 * Grandfather-father-son retention. Each rule keeps the latest point taken on each of its
 * last N target days (see `retention.ts`); a point is kept while any rule keeps it. A daily
 * or hourly schedule requires `daily`; a weekly schedule forbids `daily`, `monthly` and
 * `yearly` and requires `weekly` on one of its scheduled days; a cron schedule requires some
 * rule, each on a day the expression runs on (see `validate-retention.ts`).
 */
export interface RetentionRules {
  /** The latest point of each of the last `days` local days (today included); 7 to 9999. */
  readonly daily?: { readonly days: number };
  /** The latest point taken on each of the last `weeks` local `day`s; 1 to 5163 weeks. */
  readonly weekly?: { readonly weeks: number; readonly day: Weekday };
  /** The latest point taken on `day` of each of the last `months` months; 1 to 1188. */
  readonly monthly?: { readonly months: number; readonly day: MonthDay };
  /** The latest point taken on `day` of `month` (1 to 12) in each of the last `years` years; 1 to 99. */
  readonly yearly?: { readonly years: number; readonly month: number; readonly day: MonthDay };
}

/**
 * A copy rule: every point the policy makes is also copied into a second vault, where the copy is
 * a point of its own kept `retention.days` days (its committed retention end there). `vault` is
 * the destination's place: an embedded vault's directory (an absolute path on the machine that
 * runs the scheduler) or `s3://BUCKET[/PREFIX]` with its catalog `table` and, optionally, the
 * destination's own KMS key; never the source's keys.
 */
export interface CopyRule {
  readonly vault: string;
  /** The destination's DynamoDB catalog table: required for, and only for, a vault on S3. */
  readonly table?: string;
  /** The destination's KMS key (id, ARN or alias), for a vault on S3. */
  readonly kmsKey?: string;
  /**
   * A role of the destination's account the copy assumes to write there (a vault on S3 only):
   * the copy then holds no right of the destination's account but that role's.
   */
  readonly roleArn?: string;
  /**
   * The destination's commit function (its writer's gate), for a role that may not write the
   * destination's catalog itself: every catalog write of the copy goes through it.
   */
  readonly commitFunction?: string;
  readonly retention: { readonly days: number };
}

/** A validated backup policy. */
export interface BackupPolicy {
  /** 1 to 128 letters, digits, spaces, "-", "_" or ".", starting with a letter or digit. */
  readonly name: string;
  readonly schedule: Schedule;
  /** IANA time zone the schedule and the retention days are reckoned in. */
  readonly timeZone: string;
  readonly retention: RetentionRules;
  /**
   * Days (of 24 hours) a point also stays in the snapshot tier for instant restore, 1 to 30;
   * after that it lives in the vault tier only.
   */
  readonly snapshotRetentionDays: number;
  /**
   * Points older than `afterDays` days (of 24 hours) move to the archive tier: 90 to 3650, and
   * less than the policy's longest retention, so that some point can ever reach it. It is
   * always longer than the snapshot retention (30 days at most).
   */
  readonly archive?: { readonly afterDays: number };
  /** Second vaults every new point is copied to (1 to 3 distinct destinations). */
  readonly copyTo?: readonly CopyRule[];
  /**
   * Minutes after a slot its backup may still land before the disk counts as outside its RPO and
   * an alert goes out: 15 to 10080 (a week); 60 when absent.
   */
  readonly rpoGraceMinutes?: number;
  /** Scheduled verification of this policy's points. */
  readonly verification?: Verification;
  /** Scheduled restore drills of this policy's disks. */
  readonly restoreDrill?: RestoreDrill;
}

/** How a schedule reads in a listing: its kind, or "cron" and the expression. */
export function scheduleLabel(schedule: Schedule): string {
  return isCronSchedule(schedule) ? `cron ${schedule.cron}` : schedule.kind;
}

/** Minutes after midnight of a "HH:MM" time; NaN unless it is one (00:00 to 23:59). */
export function minutesOfTime(time: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  return match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
}
