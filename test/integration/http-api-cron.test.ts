import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, DAILY, type HttpFixture, readerView, startHttpFixture } from "../helpers/http-api-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

let f: HttpFixture;

beforeEach(async () => {
  f = await startHttpFixture();
});

afterEach(() => f.close());

const contributor = () => ({ token: f.tokens.contributor });
const cronPolicy = (cron: unknown) => ({ ...DAILY, name: "weekdays", schedule: { cron } });

describe("cron schedules through POST and PUT /policies", () => {
  it("creates a cron policy, reads it back as written, and updates it", async () => {
    const created = await call(f, "POST", "/policies", { ...contributor(), body: cronPolicy("0 2 * * 1-5") });
    expect(created.status).toBe(201);
    expect(created.body.definition.schedule).toEqual({ cron: "0 2 * * 1-5" });
    const shown = await call(f, "GET", "/policies/weekdays", { token: f.tokens.reader });
    expect(shown.body.definition).toEqual(created.body.definition);
    const { name: _, ...unnamed } = cronPolicy("15 */6 * * *");
    const updated = await call(f, "PUT", "/policies/weekdays", { ...contributor(), body: unnamed });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ version: 2, definition: { schedule: { cron: "15 */6 * * *" } } });
  });

  it("answers 400 naming the field and the expression, and creates nothing", async () => {
    const before = await readerView(f);
    const refusals: [unknown, string | RegExp][] = [
      // Refused by the OpenAPI schema.
      [
        "0 2 * *",
        'body.schedule.cron must be a cron expression of 5 fields (minute hour day-of-month month day-of-week) or a nickname such as "@daily", got "0 2 * *"',
      ],
      [7, "body.schedule.cron must be a string, got 7"],
      ["", "body.schedule.cron must not be empty"],
      // Refused by the vault, which asks croner.
      ["61 2 * * *", 'schedule.cron "61 2 * * *" is not a valid cron expression: the minute must be 0 to 59'],
      ["0 2 31 2 *", 'schedule.cron "0 2 31 2 *" never runs'],
      ["*/10 * * * *", /^schedule\.cron "\*\/10 \* \* \* \*" runs more than once an hour/],
    ];
    for (const [cron, message] of refusals) {
      const res = await call(f, "POST", "/policies", { ...contributor(), body: cronPolicy(cron) });
      expect([res.status, res.body.error.code], String(cron)).toEqual([400, "INVALID_INPUT"]);
      expect(res.body.error.message, String(cron)).toMatch(message);
    }
    const mixed = { ...DAILY, name: "mixed", schedule: { kind: "daily", cron: "0 2 * * *" } };
    const res = await call(f, "POST", "/policies", { ...contributor(), body: mixed });
    expect([res.status, res.body.error.message]).toEqual([400, "body.schedule.kind is not allowed"]);
    const weekend = { ...cronPolicy("0 2 * * 1-5"), retention: { weekly: { weeks: 4, day: "sun" } } };
    const never = await call(f, "POST", "/policies", { ...contributor(), body: weekend });
    expect([never.status, never.body.error.message]).toEqual([
      400,
      'retention.weekly.day must be a day schedule.cron "0 2 * * 1-5" runs on (else the rule keeps nothing), got "sun"',
    ]);
    expect(await readerView(f)).toEqual(before);
  });
});
