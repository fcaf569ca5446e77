import { ValidationError } from "../../errors.ts";
import type { Alert, Alerts } from "../../ports/alerts.ts";

/** How long a webhook may take to answer before the alert counts as not delivered. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * The webhook URL `serve --alert-webhook` was given, checked: absolute http or https, no
 * credentials in it (they would be logged with every failure).
 */
export function webhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`--alert-webhook must be an absolute http:// or https:// URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ValidationError(`--alert-webhook must be an http:// or https:// URL, got "${url.protocol}"`);
  if (url.username || url.password)
    throw new ValidationError("--alert-webhook must not carry credentials in the URL");
  return url;
}

/**
 * Alerts POSTed as JSON (`{"subject", "message", "jobId"?, "source": "blockvault"}`) to a
 * webhook: a chat channel's incoming hook, an incident tool, Alertmanager-style receivers. One
 * attempt per alert, {@link WEBHOOK_TIMEOUT_MS} at most; a failure (no answer, a non-2xx status)
 * rejects naming the status, and the caller logs it (alerts are best effort).
 */
export class WebhookAlerts implements Alerts {
  readonly #url: URL;

  constructor(url: URL) {
    this.#url = url;
  }

  async publish(alert: Alert): Promise<void> {
    const body = JSON.stringify({ source: "blockvault", ...alert });
    const response = await fetch(this.#url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    }).catch((err: unknown) => {
      throw new Error(`alert webhook ${this.#url.origin} did not answer: ${(err as Error).message}`);
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`alert webhook ${this.#url.origin} answered ${response.status}`);
  }
}

/**
 * Every alert to each of `targets` (the log and a webhook, embedded); one target's failure is
 * logged and does not keep the alert from the others.
 */
export class FanOutAlerts implements Alerts {
  readonly #targets: readonly Alerts[];
  readonly #log: (line: string) => void;

  constructor(targets: readonly Alerts[], log: (line: string) => void) {
    this.#targets = targets;
    this.#log = log;
  }

  async publish(alert: Alert): Promise<void> {
    await Promise.all(
      this.#targets.map((t) =>
        t.publish(alert).catch((err: unknown) => this.#log(`alert not delivered: ${(err as Error).message}`)),
      ),
    );
  }
}
