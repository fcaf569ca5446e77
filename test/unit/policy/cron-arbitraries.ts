/**
 * Cron expressions the vault accepts: one minute value, and days of the month up to 28 or the
 * last, so that every combination of the day fields meets some day.
 */
import fc from "fast-check";

const dayFieldsArb = fc.record({
  dom: fc.oneof(
    fc.constant("*"),
    fc.integer({ min: 1, max: 28 }).map(String),
    fc.constantFrom("L", "1,15", "10-20"),
  ),
  month: fc.oneof(
    fc.constant("*"),
    fc.integer({ min: 1, max: 12 }).map(String),
    fc.constantFrom("3,10", "4-11"),
  ),
  dow: fc.oneof(
    fc.constant("*"),
    fc.integer({ min: 0, max: 6 }).map(String),
    fc.constantFrom("1-5", "SUN", "5#1"),
  ),
});

/** Hours often in the 00:00 to 03:00 range clocks change in. */
const hourArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 }));
const minuteArb = fc.oneof(fc.constantFrom(0, 1, 30, 59), fc.integer({ min: 0, max: 59 }));

/** Expressions with one minute and one hour: croner's "fixed-time" jobs. */
export const fixedTimeArb = fc
  .tuple(minuteArb, hourArb, dayFieldsArb)
  .map(([minute, hour, d]) => `${minute} ${hour} ${d.dom} ${d.month} ${d.dow}`);

const hoursFieldArb = fc.oneof(
  hourArb.map(String),
  fc.constant("*"),
  fc.integer({ min: 2, max: 12 }).map((step) => `*/${step}`),
  fc
    .tuple(hourArb, fc.integer({ min: 1, max: 6 }))
    .map(([from, span]) => `${from}-${Math.min(23, from + span)}`),
  fc
    .uniqueArray(hourArb, { minLength: 2, maxLength: 4 })
    .map((hours) => hours.sort((a, b) => a - b).join(",")),
);
/** Expressions with one minute and any hours field. */
export const anyTimeArb = fc
  .tuple(minuteArb, hoursFieldArb, dayFieldsArb)
  .map(([minute, hours, d]) => `${minute} ${hours} ${d.dom} ${d.month} ${d.dow}`);
