/**
 * The grandfather-father-son rules as predicates on local day numbers (see `civil.ts`). Every
 * rule keeps at most one point per local day, the latest, so a rule only has to say which
 * days it keeps: the last N of its target days up to and including today.
 */
import type { CivilDate } from "./civil.ts";
import { civilDate, daysInMonth, monthIndex, weekdayOf } from "./civil.ts";
import type { MonthDay, RetentionRules } from "./policy.ts";
import { WEEKDAYS } from "./policy.ts";

/** Says whether a rule keeps the latest point of local day number `day`. */
export type DayRule = (day: number) => boolean;

/** The day of the month `day` names in that month ("last" is 28 to 31). */
function dayOfMonth(year: number, month: number, day: MonthDay): number {
  return day === "last" ? daysInMonth(year, month) : day;
}

/** Whether `date` is `day` of its month. */
function isMonthDay(date: CivilDate, day: MonthDay): boolean {
  return date.day === dayOfMonth(date.year, date.month, day);
}

/** Keeps the last `days` local days, today included. */
function dailyRule(days: number, today: number): DayRule {
  return (day) => day <= today && day > today - days;
}

/** Keeps the last `weeks` occurrences of `weekday` (0 = Sunday), today included. */
function weeklyRule(weeks: number, weekday: number, today: number): DayRule {
  const latest = today - ((weekdayOf(today) - weekday + 7) % 7);
  return (day) => weekdayOf(day) === weekday && day <= latest && day > latest - 7 * weeks;
}

/** Keeps `day` of each of the last `months` months whose `day` is today or earlier. */
function monthlyRule(months: number, monthDay: MonthDay, today: number): DayRule {
  const now = civilDate(today);
  // This month counts only once its chosen day has come.
  const latest = monthIndex(now) - (now.day >= dayOfMonth(now.year, now.month, monthDay) ? 0 : 1);
  return (day) => {
    const date = civilDate(day);
    const index = monthIndex(date);
    return isMonthDay(date, monthDay) && index <= latest && index > latest - months;
  };
}

/** Keeps `day` of `month` in each of the last `years` years in which that date is today or earlier. */
function yearlyRule(years: number, month: number, monthDay: MonthDay, today: number): DayRule {
  const now = civilDate(today);
  const reached =
    now.month > month || (now.month === month && now.day >= dayOfMonth(now.year, month, monthDay));
  const latest = now.year - (reached ? 0 : 1);
  return (day) => {
    const date = civilDate(day);
    return (
      date.month === month && isMonthDay(date, monthDay) && date.year <= latest && date.year > latest - years
    );
  };
}

/** One predicate per rule the retention sets, for local day number `today`. */
export function dayRules(retention: RetentionRules, today: number): DayRule[] {
  const rules: DayRule[] = [];
  const { daily, weekly, monthly, yearly } = retention;
  if (daily) rules.push(dailyRule(daily.days, today));
  if (weekly) rules.push(weeklyRule(weekly.weeks, WEEKDAYS.indexOf(weekly.day), today));
  if (monthly) rules.push(monthlyRule(monthly.months, monthly.day, today));
  if (yearly) rules.push(yearlyRule(yearly.years, yearly.month, yearly.day, today));
  return rules;
}
