/**
 * The project's metric vocabulary: every metric blockvault emits, by name, with its one unit.
 *
 * Emitters name a metric and give a value; the unit comes from here, so a metric never changes
 * unit between emitters (CloudWatch keeps a unit per data point and statistics across units are
 * meaningless) and alarms, dashboards and the code agree on spelling. Units are CloudWatch's
 * own spellings, which Powertools' `MetricUnit` uses too.
 */

/** The CloudWatch units blockvault's metrics are measured in. */
export const MetricUnit = {
  Count: "Count",
  Bytes: "Bytes",
  Milliseconds: "Milliseconds",
} as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Every metric, name → unit. */
export const METRICS = {
  /** Snapshot requests a scheduler tick sent to the fan-out queue (one per due disk). */
  BackupsScheduled: MetricUnit.Count,
  /** Recovery points a scheduler tick's retention soft-deleted. */
  PointsExpired: MetricUnit.Count,
  /** Backups that committed a recovery point. */
  BackupsCompleted: MetricUnit.Count,
  /** Bytes of a disk a backup examined (read, or known zero from the allocation map). */
  BackupBytesScanned: MetricUnit.Bytes,
  /** Bytes a backup wrote to the object store after deduplication and compression. */
  BackupBytesStored: MetricUnit.Bytes,
  /** Wall-clock time of one backup, from its start (the source already open) to its point committed. */
  BackupDuration: MetricUnit.Milliseconds,
  /** Deliveries of a snapshot request that failed, whether or not the queue delivers it again. */
  BackupAttemptsFailed: MetricUnit.Count,
  /** Jobs marked failed for good; the "JobsFailed" alarm fires on any. */
  JobsFailed: MetricUnit.Count,
  /** State machine tasks that threw (the machine may still retry them). */
  LifecycleTasksFailed: MetricUnit.Count,
  /** HTTP API requests answered, any status. */
  ApiRequests: MetricUnit.Count,
  /** HTTP API requests answered 5xx: a fault of the deployment or the service, not the caller. */
  ApiServerErrors: MetricUnit.Count,
  /** Restores that failed for good (the restore machine's failure path); the "RestoresFailed" alarm. */
  RestoresFailed: MetricUnit.Count,
  /**
   * Protected items whose latest slot due past the grace has no good point, as of a scheduler
   * tick (every tick emits it, 0 included); the "MissedBackup" alarm fires on any.
   */
  ItemsOutsideRpo: MetricUnit.Count,
  /**
   * Bytes the available and soft-deleted points added to the store, with the dimension `tier`
   * (snapshot, vault, archive), as of a scheduler tick.
   */
  StorageBytes: MetricUnit.Bytes,
  /** Approval requests waiting for a second person, as of a scheduler tick. */
  ApprovalsPending: MetricUnit.Count,
  /** Bytes garbage collection freed (deleted packs). */
  GcBytesReclaimed: MetricUnit.Bytes,
  /** Scheduled verifications that found damage or could not run; the "VerificationFailed" alarm. */
  VerificationsFailed: MetricUnit.Count,
  /** Restore drills that failed (restore, block hashes or check command). */
  DrillsFailed: MetricUnit.Count,
  /**
   * Invocations that started a new Lambda execution environment. Powertools' `logMetrics`
   * middleware emits it (with a `function_name` dimension); listed so dashboards find it here.
   */
  ColdStart: MetricUnit.Count,
} as const satisfies Record<string, MetricUnit>;

/** The name of a metric blockvault emits. */
export type MetricName = keyof typeof METRICS;
