/** Something an operator must hear about: a failed job, a dead-lettered message. */
export interface Alert {
  readonly subject: string;
  readonly message: string;
  readonly jobId?: string;
}

/** Where alerts go (an SNS topic in the cloud, the log embedded). Publishing is best effort. */
export interface Alerts {
  publish(alert: Alert): Promise<void>;
}
