import { copyFile, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../lib/adapters/local/sources/file-source.ts";
import {
  clickRole,
  hasRole,
  launchChromium,
  lowContrastTexts,
  SCREENSHOTS,
  screenshots,
} from "../helpers/browser.ts";
import { type ConsoleFixture, type ConsoleRole, startConsoleFixture } from "../helpers/console-fixture.ts";
import { rawRequest } from "../helpers/serve-fixture.ts";

process.env.BLOCKVAULT_WORKERS = "1";

// One flow through the console in headless Chromium, step by step on one vault: each step starts
// from where the one before left it.
let f: ConsoleFixture;
let browser: Browser;
let page: Page;
let webPoint: string;

beforeAll(async () => {
  f = await startConsoleFixture();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await f?.close();
});

/** Goes to a page of the console (`#/jobs`) and waits for its heading. */
async function open(hash: string, heading: string): Promise<void> {
  await page.goto(`${f.url}/console/${hash}`);
  await page.locator(`::-p-aria([name="${heading}"][role="heading"])`).wait();
}

/** Signs in as `role` with the keyboard: the token field, then Enter. */
async function signIn(role: ConsoleRole): Promise<void> {
  await page.goto(`${f.url}/console/`);
  await page.evaluate("sessionStorage.clear()");
  await page.reload();
  await page.locator("#token").wait();
  await page.focus("#token");
  await page.keyboard.type(f.tokens[role]);
  await page.keyboard.press("Enter");
  await page.locator('[data-testid="caller"]').wait();
}

/** What `selector` says, once it says something matching `pattern`. */
async function waitForText(selector: string, pattern: RegExp, timeout = 30_000): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = await page.$eval(selector, (el) => el.textContent ?? "").catch(() => "");
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`${selector} never matched ${pattern}: "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Photographs the page at both widths, and checks its text contrast (WCAG AA). */
async function shoot(name: string): Promise<void> {
  await screenshots(page, name);
  expect(await lowContrastTexts(page), name).toEqual([]);
}

/** The current minute of the real clock, as "HH:MM" UTC (due once the vault's clock catches up). */
function thisMinute(): string {
  return new Date().toISOString().slice(11, 16);
}

describe("the web console in headless Chromium", () => {
  it("serves the console with its page's security headers, and the sign-in refuses a wrong token", async () => {
    const response = await page.goto(`${f.url}/console/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(response?.headers()["x-frame-options"]).toBe("DENY");
    await page.locator("#token").wait();
    await shoot("login");
    // The console's files pass the same Host and Origin checks as the API.
    const port = Number(new URL(f.url).port);
    const foreign = await rawRequest(port, "GET", "/console/", { headers: { host: `evil.example:${port}` } });
    expect(foreign.status).toBe(421);
    const framed = await rawRequest(port, "GET", "/console/app.js", {
      headers: { origin: "http://evil.example" },
    });
    expect(framed.status).toBe(403);
    await page.locator("#token").fill("bv_not-a-token");
    await page.keyboard.press("Enter");
    expect(await waitForText('[role="alert"]', /not valid/)).toMatch(/401/);
    expect(await page.evaluate('sessionStorage.getItem("blockvault.token")')).toBeNull();
  });

  it("signs its calls with SigV4 when signed in with AWS credentials (the deployed API's sign-in)", async () => {
    await page.goto(`${f.url}/console/`);
    await page.locator("#token").wait();
    await page.click("summary");
    await page.locator("#aws-accessKeyId").fill("AKIAEXAMPLE00000000");
    await page.locator("#aws-secretAccessKey").fill("secret/example/key");
    await page.locator("#aws-sessionToken").fill("session-token-example");
    await page.locator("#aws-region").fill("eu-west-1");
    const sent = new Promise<Record<string, string>>((resolve) => {
      page.once("request", (request) => resolve(request.headers()));
    });
    await clickRole(page, "button", "Sign in with AWS");
    const headers = await sent;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE00000000\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=\S*host\S*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers["x-amz-security-token"]).toBe("session-token-example");
    expect(headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    // This server takes bearer tokens only: the signed request is refused, and nothing is kept.
    expect(await waitForText('details [role="alert"]', /bearer token/)).toMatch(/401/);
    expect(await page.evaluate('sessionStorage.getItem("blockvault.aws")')).toBeNull();
  });

  it("creates a policy and protects a disk (contributor)", async () => {
    await signIn("contributor");
    expect(await page.$eval('[data-testid="caller"]', (el) => el.textContent)).toBe("carl (contributor)");
    await open("#/policies", "Policies");
    await page.locator("#policy-name").fill("nightly");
    await page.locator("#policy-time").fill(thisMinute());
    await clickRole(page, "button", "Create policy");
    await waitForText('[role="status"]', /Policy nightly created/);
    await shoot("policies");
    await open("#/", "Dashboard");
    await page.locator("#protect-disk").fill("web");
    await page.locator("#protect-source").fill(f.image);
    // The form is drawn with the policies it offers: filling the disk field waited for both.
    await page.select("#protect-policy", "nightly");
    await clickRole(page, "button", "Protect");
    await waitForText('[role="status"]', /web is protected by nightly/);
    await waitForText('tr[data-disk="web"]', /no backup yet/);
  });

  it("shows the scheduled backup once the scheduler ticks, on the dashboard, the jobs and the timeline", async () => {
    f.catchUp();
    const report = await f.runtime.tick();
    await f.runtime.settle();
    expect(report).toBeDefined();
    const row = await waitForText('tr[data-disk="web"]', /within RPO/);
    expect(row).toMatch(/nightly/);
    expect(row).toMatch(/24 h 0 min/);
    await shoot("dashboard");
    await open("#/jobs", "Jobs");
    await page.locator('tr[data-type="backup"][data-status="completed"]').wait();
    await shoot("jobs");
    await open("#/items/web", "Recovery points of web");
    await page.locator("li.point").wait();
    const points = await page.$$eval("li.point", (els) => els.map((e) => e.getAttribute("data-point") ?? ""));
    expect(points).toHaveLength(1);
    webPoint = points[0]!;
    expect(await page.$eval("li.point", (el) => el.textContent)).toMatch(/Retained until\d{4}-/);
    await shoot("points");
  });

  it("restores the point through the wizard and the restored file has the disk's bytes", async () => {
    await clickRole(page, "link", "Restore…");
    await page.locator('::-p-aria([name="1. Recovery point"][role="heading"])').wait();
    await clickRole(page, "button", "Next");
    await clickRole(page, "button", "Next");
    const target = await page.$eval("#target-path", (el) => (el as unknown as { value: string }).value);
    expect(target.startsWith(`${f.restoreDir}/web-`)).toBe(true);
    await clickRole(page, "button", "Next");
    expect(await waitForText('[data-testid="predicted"]', /\d+ s/)).toBe("1 s");
    await shoot("restore-confirm");
    await clickRole(page, "button", "Start restore");
    await waitForText('[data-testid="restore-status"]', /completed|failed/);
    expect(await page.$eval('[data-testid="restore-status"]', (el) => el.textContent)).toBe("completed");
    expect(await page.$eval('[data-testid="restored-to"]', (el) => el.textContent)).toBe(target);
    await shoot("restore-progress");
    expect((await readFile(target)).equals(f.imageBytes)).toBe(true);
  });

  it("shows a reader no restore button, and the server refuses the reader's restore even when forced", async () => {
    await signIn("reader");
    await open("#/items/web", "Recovery points of web");
    await page.locator("li.point").wait();
    expect(await hasRole(page, "link", "Restore…")).toBe(false);
    expect(await hasRole(page, "button", "Delete")).toBe(false);
    await open(`#/restore/${webPoint}`, "Restore");
    const before = await readdir(f.restoreDir);
    // Forced: the reader's own token, straight to the API from the console's page.
    const forced = await page.evaluate(
      async (token, point, path) => {
        const r = await fetch("/restores", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ recoveryPointId: point, target: { kind: "file", path } }),
        });
        return { status: r.status, body: (await r.json()) as { error: { code: string } } };
      },
      f.tokens.reader,
      webPoint,
      join(f.restoreDir, "by-reader.img"),
    );
    expect(forced.status).toBe(403);
    expect(forced.body.error.code).toBe("ACCESS_DENIED");
    expect(await readdir(f.restoreDir)).toEqual(before);
    expect(await lowContrastTexts(page)).toEqual([]);
  });

  it("deletes a point with no retention left: soft-deleted at once, marked, and undeletable from the timeline", async () => {
    await signIn("contributor");
    await open("#/items/scratch", "Recovery points of scratch");
    await clickRole(page, "button", "Delete");
    await waitForText('[role="status"]', /soft-deleted/);
    await page.locator('li.point[data-state="soft-deleted"]').wait();
    expect(await page.$eval("li.point", (el) => el.textContent)).toMatch(/soft-deleted.*Purged after/);
    expect(await hasRole(page, "button", "Undelete")).toBe(true);
    await shoot("points-soft-deleted");
  });

  it("asks for an early delete, which a second security admin approves, and the requester completes", async () => {
    await open("#/items/web", "Recovery points of web");
    await clickRole(page, "button", "Delete");
    const notice = await waitForText('[role="status"]', /needs a second person/);
    const requestId = /request (\S+) is waiting/.exec(notice)?.[1];
    expect(requestId).toBeDefined();
    expect(await page.$eval("li.point", (el) => el.getAttribute("data-state"))).toBe("available");
    await open("#/approvals", "Approvals");
    await waitForText(`li[data-approval="${requestId}"]`, /Waiting for another security admin/);
    expect(await hasRole(page, "button", "Approve")).toBe(false);

    await signIn("admin");
    await open("#/approvals", "Approvals");
    const request = await waitForText(`li[data-approval="${requestId}"]`, /pending/);
    expect(request).toMatch(new RegExp(`Delete recovery point ${webPoint} before its retention ends`));
    expect(request).toMatch(/Requested by carl/);
    expect(await waitForText('[data-testid="at-stake"]', /disk web/)).toMatch(/retained until \d{4}-/);
    await shoot("approvals");
    await clickRole(page, "button", "Approve");
    await waitForText(`li[data-approval="${requestId}"]`, /approved.*Approved by sam/);

    await signIn("contributor");
    await open("#/approvals", "Approvals");
    await clickRole(page, "button", "Complete the operation");
    await waitForText(`li[data-approval="${requestId}"]`, /used/);
    await open("#/items/web", "Recovery points of web");
    await page.locator(`li.point[data-point="${webPoint}"][data-state="soft-deleted"]`).wait();
  });

  it("asks a second admin to disable soft delete from the settings page, who rejects it on the approvals page", async () => {
    await signIn("admin");
    await open("#/settings", "Vault settings");
    await clickRole(page, "button", "Disable soft delete");
    const notice = await waitForText('[role="status"]', /needs a second security admin/);
    const requestId = /request (\S+) is on the Approvals page/.exec(notice)?.[1];
    expect(requestId).toBeDefined();
    await signIn("admin2");
    await open("#/approvals", "Approvals");
    const request = await waitForText(`li[data-approval="${requestId}"]`, /pending/);
    expect(request).toMatch(/Disable soft delete: deleted points are purged at once/);
    await clickRole(page, "button", "Reject");
    await waitForText(`li[data-approval="${requestId}"]`, /rejected.*Rejected by alice/);
    expect((await f.vault.settings()).softDeleteEnabled).toBe(true);
    const [stored] = await f.vault.approvalViews("rejected");
    expect(stored).toMatchObject({ id: requestId, rejecter: "alice" });
  });

  it("previews the lock before enabling it, on the settings page (security admin)", async () => {
    // The early-deleted point back (undelete needs no approval): the lock then has a point to keep.
    await f.vault.undeletePoint(webPoint);
    await signIn("admin");
    await open("#/settings", "Vault settings");
    // The heading comes before the settings are read: wait for them.
    expect(await waitForText('[data-testid="lock-state"]', /locked/)).toBe("unlocked");
    expect(await hasRole(page, "button", "Enable the lock")).toBe(false);
    await clickRole(page, "button", "Preview what the lock commits to");
    const preview = await waitForText('[data-testid="lock-preview"]', /point/);
    expect(preview).toMatch(/^1 point becomes undeletable until as late as \d{4}-/);
    expect(preview).toContain(webPoint);
    await shoot("settings");
    await clickRole(page, "button", "Enable the lock");
    await waitForText('[data-testid="lock-state"]', /enabled/);
    expect((await f.vault.settings()).lock).toBe("enabled");
    expect(await lowContrastTexts(page)).toEqual([]);
  });

  it("shows a scheduled backup that failed on the dashboard and, with its error, on the jobs page", async () => {
    // A disk whose image is gone by the time its first backup is due.
    const gone = join(f.root, "gone.img");
    await copyFile(f.image, gone);
    const minute = thisMinute();
    await f.vault.createPolicy({
      name: "now",
      schedule: { kind: "daily", times: [minute] },
      timeZone: "UTC",
      retention: { daily: { days: 7 } },
      snapshotRetentionDays: 1,
    });
    const source = await openFileSource(gone);
    await f.vault.protect(source, "gone", "now").finally(() => source.close());
    await rm(gone);
    await f.runtime.tick();
    await f.runtime.settle();
    await open("#/", "Dashboard");
    expect(await waitForText('[data-testid="failed-count"]', /^[1-9]/)).toBe("1");
    expect(await waitForText('section[aria-labelledby="failed-heading"]', /backup gone/)).toMatch(/gone/);
    await open("#/jobs", "Jobs");
    const failed = await waitForText('tr[data-type="backup"][data-status="failed"]', /gone/);
    expect(failed).toMatch(/gone\.img|no such file|not found|cannot/i);
    await shoot("jobs-failed");
  });

  it("is operated from the keyboard: Tab reaches the navigation, Enter follows it", async () => {
    await open("#/", "Dashboard");
    let reached = "";
    for (let i = 0; i < 12 && reached !== "Jobs"; i++) {
      await page.keyboard.press("Tab");
      reached = (await page.evaluate('document.activeElement?.textContent ?? ""')) as string;
    }
    expect(reached).toBe("Jobs");
    await page.keyboard.press("Enter");
    await page.locator('::-p-aria([name="Jobs"][role="heading"])').wait();
    expect(new URL(page.url()).hash).toBe("#/jobs");
    const shots = await readdir(SCREENSHOTS);
    for (const name of ["login", "dashboard", "points", "restore-confirm", "approvals", "jobs", "settings"]) {
      expect(shots).toEqual(expect.arrayContaining([`${name}-1280.png`, `${name}-390.png`]));
    }
  });
});
