/**
 * Reference tracking for garbage collection (see docs/design.md, "Garbage collection").
 *
 * Recovery points hold segment manifests through *runs*: a holder string
 * `<disk>/<slot>/<point>` names the maximal run of consecutive unreleased points of a disk, from
 * `<point>` on, that have the segment at that slot. Segments hold packs: a pack's holders are the
 * ids of the live segments whose blocks it stores. A segment without holders is released (dead),
 * a pack without holders is condemned, then deleted and remembered as a tombstone.
 */

/** States of a pack's reference record. */
export const PackRefState = {
  /** Indexed; may be held, may be referenced by new segments. */
  Live: "live",
  /** No segment holds it; it is leaving the index and will be deleted. Cannot be held again. */
  Condemned: "condemned",
  /** Deleted from the store; the tombstone makes a stale backup's reference to it fail. */
  Deleted: "deleted",
} as const;
export type PackRefState = (typeof PackRefState)[keyof typeof PackRefState];

/** States of a segment manifest's reference record. */
export const SegmentRefState = {
  Live: "live",
  /** Released: its packs are being (or have been) released; it can never be held again. */
  Dead: "dead",
} as const;
export type SegmentRefState = (typeof SegmentRefState)[keyof typeof SegmentRefState];

/** Where a point is in being released by the collector. */
export const PointRelease = { Releasing: "releasing", Released: "released" } as const;
export type PointRelease = (typeof PointRelease)[keyof typeof PointRelease];

/** A pack's reference record. */
export interface PackRef {
  readonly id: string;
  readonly state: PackRefState;
  readonly holders: number;
  /** The index object that names the pack, once known. */
  readonly index?: string;
  /** When the record last changed state (epoch ms). */
  readonly changed: number;
}

/** A segment manifest's reference record. */
export interface SegmentRef {
  readonly id: string;
  readonly state: SegmentRefState;
  readonly holders: readonly string[];
  /** The packs its blocks were located in when it was first held: the packs it holds. */
  readonly packs: readonly string[];
}

/**
 * The reference store. Every method is atomic on the one record it names and idempotent (set
 * semantics), so a retried call never counts twice: holding is adding to a set, releasing is
 * removing from it. That is what makes a crashed collector safe to run again.
 *
 * Contract (checked by `test/contract/references.contract.ts`):
 * - `track(vault)` turns tracking on; `isTracking` says whether it is on. Vaults created before
 *   garbage collection existed are not tracked, and the collector refuses to run on them.
 * - `registerPacks` creates live records (existing live ones are kept); a tombstoned or condemned
 *   pack rejects with `ConflictError`. `setPackIndex` records the index object naming the packs.
 * - `holdPack` adds holders to a live pack; a missing, condemned or deleted pack rejects with
 *   `ConflictError` (retryable: the caller's view of the index is stale).
 * - `releasePack` removes holders and returns how many remain (0 for a missing record).
 * - `listUnheldPacks` lists live packs registered before the time and never held since (once
 *   held, a pack leaves that list for good, whatever its holders later).
 * - `condemnPack` moves a live pack with no holders to condemned and returns true; false (and no
 *   change) when it has holders or is not live. `markPackDeleted` moves condemned to deleted;
 *   `dropPack` forgets a record.
 * - `holdSegment` creates a live record with `holders` and `packs` when there is none, adds
 *   `holders` to a live one (its recorded packs stay), and rejects a dead one with a retryable
 *   `ConflictError`. It returns the record as it stands afterwards.
 * - `releaseSegment` removes holders and returns how many remain, undefined for a missing record.
 * - `killSegment` moves a live segment with no holders to dead (true), else changes nothing
 *   (false). `dropSegment` forgets a record.
 * - `setPointRelease(vault, point, state | undefined)` records or clears a point's release state.
 * - `acquireLease` takes a named lease for `owner` until `until` when it is free, expired (before
 *   `now`) or already the owner's; `releaseLease` frees it if the owner holds it.
 */
export interface ReferenceStore {
  track(vaultId: string): Promise<void>;
  isTracking(vaultId: string): Promise<boolean>;

  registerPacks(vaultId: string, packIds: readonly string[], at: number): Promise<void>;
  setPackIndex(vaultId: string, packIds: readonly string[], indexId: string): Promise<void>;
  holdPack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<void>;
  releasePack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<number>;
  condemnPack(vaultId: string, packId: string, at: number): Promise<boolean>;
  markPackDeleted(vaultId: string, packId: string, at: number): Promise<void>;
  dropPack(vaultId: string, packId: string): Promise<void>;
  getPack(vaultId: string, packId: string): Promise<PackRef | undefined>;
  listPacks(vaultId: string, state: "condemned" | "deleted"): Promise<PackRef[]>;
  /** Live packs recorded as named by `indexId`. */
  packsOfIndex(vaultId: string, indexId: string): Promise<PackRef[]>;
  /**
   * Live packs registered before `registeredBefore` (epoch ms) and never held since: what a
   * backup that failed between storing its packs and committing left behind.
   */
  listUnheldPacks(vaultId: string, registeredBefore: number): Promise<PackRef[]>;

  holdSegment(
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
    packs: readonly string[],
  ): Promise<SegmentRef>;
  releaseSegment(vaultId: string, segmentId: string, holders: readonly string[]): Promise<number | undefined>;
  /**
   * Several `holdSegment`s at once, all or nothing where the store can (the embedded store does
   * them in one transaction: one durable write instead of hundreds). A dead segment among them
   * rejects with the retryable `ConflictError`; the records are returned in the order given.
   */
  holdSegments(
    vaultId: string,
    segments: readonly { segment: string; holders: readonly string[]; packs: readonly string[] }[],
  ): Promise<SegmentRef[]>;
  /** Several `holdPack`s at once, all or nothing where the store can; same refusals. */
  holdPacks(vaultId: string, holds: readonly { pack: string; segments: readonly string[] }[]): Promise<void>;
  killSegment(vaultId: string, segmentId: string): Promise<boolean>;
  dropSegment(vaultId: string, segmentId: string): Promise<void>;
  getSegment(vaultId: string, segmentId: string): Promise<SegmentRef | undefined>;
  listDeadSegments(vaultId: string): Promise<SegmentRef[]>;

  setPointRelease(vaultId: string, pointId: string, state: PointRelease | undefined): Promise<void>;
  pointReleases(vaultId: string): Promise<Map<string, PointRelease>>;

  acquireLease(vaultId: string, name: string, owner: string, until: number, now: number): Promise<boolean>;
  releaseLease(vaultId: string, name: string, owner: string): Promise<void>;
}
