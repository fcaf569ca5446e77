/** One disk of a VM as a snapshot provider sees it. */
export interface SnapshotDisk {
  /** Where the disk lives: a logical volume, an image file, an EBS volume. */
  readonly source: string;
  readonly size: number;
}

/** The point-in-time images of a VM's disks, each readable as a source until released. */
export interface TakenSnapshots {
  /** What to back up each disk from, in disk order: a path, or a `ebs://snap-…` source. */
  readonly sources: readonly string[];
  /** Removes the snapshots (idempotent); the backup calls it once every disk was read. */
  release(): Promise<void>;
}

/** A snapshot of every disk, prepared before the freeze so that taking it is quick. */
export interface PreparedSnapshots {
  /**
   * Whether taking the snapshot fits a freeze window of the given length: true, or why not (an
   * image copy estimated to take longer). A snapshot that does not fit is taken unfrozen.
   */
  fits(windowMs: number): true | string;
  /**
   * Takes the snapshot of every disk at (as near as the provider can) one moment. With a
   * `deadline` (epoch ms) it rejects with `SnapshotWindowError` rather than run past it.
   */
  take(deadline?: number): Promise<TakenSnapshots>;
}

/**
 * Point-in-time images of a VM's disks: LVM snapshots of logical volumes, copies of image files,
 * EBS multi-volume snapshots.
 *
 * Contract (test/integration/vm-snapshots.test.ts):
 * - `prepare` checks that every disk can be snapshotted this way (a disk that is no logical
 *   volume for LVM, a missing file for copies), rejecting with a `SourceError` naming it.
 * - `take` captures every disk; on failure it releases what it took and rejects. The images
 *   it returns do not change when the disks do, until `release`.
 */
export interface SnapshotProvider {
  /** `lvm`, `copy`, `ebs`. */
  readonly kind: string;
  prepare(disks: readonly SnapshotDisk[]): Promise<PreparedSnapshots>;
}
