import type { Alert, Alerts } from "../../ports/alerts.ts";

/** Alerts of the embedded runtime: kept in memory for the status page and written to a log sink. */
export class LogAlerts implements Alerts {
  readonly published: Alert[] = [];
  readonly #sink: (line: string) => void;

  constructor(sink: (line: string) => void = (line) => console.error(line)) {
    this.#sink = sink;
  }

  async publish(alert: Alert): Promise<void> {
    this.published.push(alert);
    this.#sink(`ALERT ${alert.subject}: ${alert.message}`);
  }
}
