/** One disk to back up, as the scheduler hands it to a snapshot worker. */
export interface SnapshotRequest {
  /** The backup job the scheduler created for this (disk, slot); the worker runs it. */
  readonly jobId: string;
  readonly disk: string;
  /** The scheduled slot (epoch ms) the backup is for. */
  readonly slot: number;
}

/**
 * The fan-out queue between the scheduler and the snapshot workers (SQS in the cloud, an
 * in-process queue embedded).
 *
 * Contract: `send` delivers every request at least once (a worker may see one twice, which is
 * why the job id travels with it); it rejects only when none of them was accepted for sure, so
 * a scheduler tick that fails may be repeated.
 */
export interface SnapshotQueue {
  send(requests: readonly SnapshotRequest[]): Promise<void>;
}
