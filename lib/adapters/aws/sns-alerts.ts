import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Alert, Alerts } from "../../ports/alerts.ts";
import { translateAwsError } from "./aws-errors.ts";

/** Alerts published to an SNS topic (subject trimmed to SNS's 100 characters). */
export class SnsAlerts implements Alerts {
  readonly #sns: SNSClient;
  readonly #topic: string;

  constructor(sns: SNSClient, topicArn: string) {
    this.#sns = sns;
    this.#topic = topicArn;
  }

  async publish(alert: Alert): Promise<void> {
    try {
      await this.#sns.send(
        new PublishCommand({
          TopicArn: this.#topic,
          Subject: alert.subject.slice(0, 100),
          Message: JSON.stringify(alert),
        }),
      );
    } catch (err) {
      throw translateAwsError(err, `publish alert to ${this.#topic}`);
    }
  }
}
