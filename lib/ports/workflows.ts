/** The state machines the application runs; one ASL file each in infra/statemachines/. */
export const Machine = {
  /** Moves recovery points snapshot tier → vault tier → archive tier, as their policy says. */
  Tiering: "tiering",
  /** Purges soft-deleted points whose period ended, then collects garbage. */
  Expiry: "expiry",
  /** Plans, rehydrates archived packs, assembles, verifies and completes a restore job. */
  Restore: "restore",
  /** Runs the policies' copy rules: each disk's new points copied into its second vaults. */
  Copy: "copy",
} as const;
export type Machine = (typeof Machine)[keyof typeof Machine];

/**
 * Starts state-machine executions (Step Functions in the cloud, aws-local-stepfunctions
 * embedded). Contract: `start` with an execution name already used for that machine starts
 * nothing new and returns the existing execution (names make starts idempotent).
 */
export interface Workflows {
  start(
    machine: Machine,
    executionName: string,
    input: Record<string, unknown>,
  ): Promise<{ executionId: string }>;
}
