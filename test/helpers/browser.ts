import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Debian's Chromium: browsers cannot be downloaded here, so the tests drive the installed one. */
export const CHROMIUM = process.env.BLOCKVAULT_CHROMIUM ?? "/usr/bin/chromium";

/** Where the end-to-end tests write their screenshots (git-ignored). */
export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "test-output", "console");

/** The widths every page is photographed at: a laptop and a phone. */
export const WIDTHS = [1280, 390] as const;

/** Starts headless Chromium, or fails saying what to install. */
export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`install chromium (apt-get install chromium): ${CHROMIUM} is missing`);
  });
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** Photographs the page at each of {@link WIDTHS}, whole, then goes back to the first width. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  for (const width of WIDTHS) {
    await page.setViewport({ width, height: 900 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewport({ width: WIDTHS[0], height: 900 });
}

/** Clicks the element with ARIA role `role` and accessible name `name` (waiting for it). */
export async function clickRole(page: Page, role: string, name: string): Promise<void> {
  await page.locator(`::-p-aria([name="${name}"][role="${role}"])`).click();
}

/** Whether an element of `role` named `name` is on the page now. */
export async function hasRole(page: Page, role: string, name: string): Promise<boolean> {
  return (await page.$$(`::-p-aria([name="${name}"][role="${role}"])`)).length > 0;
}

/**
 * In the page: the texts whose contrast with their background is below WCAG AA (4.5:1), with
 * the ratio; the background is the first opaque one among the element and its ancestors. Plain
 * JavaScript as text, run by the browser (this project's types have no DOM).
 */
const CONTRAST_CHECK = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
    if (!own || el.offsetParent === null) continue;
    const fg = lum(rgb(getComputedStyle(el).color));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) out.push(el.textContent.trim().slice(0, 40) + ": " + ratio.toFixed(2));
  }
  return out;
})()`;

/** The texts on the page below WCAG AA contrast (see {@link CONTRAST_CHECK}). */
export function lowContrastTexts(page: Page): Promise<string[]> {
  return page.evaluate(CONTRAST_CHECK) as Promise<string[]>;
}
