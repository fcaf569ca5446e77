/** A byte range of a volume. */
export interface VolumeRange {
  readonly offset: number;
  readonly length: number;
}

/** A byte range of a volume that may have changed since the parent recovery point. */
export type ChangedRange = VolumeRange;

/**
 * A disk image being backed up: a raw file, a block device, a fixed VHD, an S3 object, an EBS
 * snapshot. A local file may also offer its descriptor to the engine's worker threads, as the
 * separate `LocalFile` capability (see `localFileOf`).
 *
 * Contract:
 * - `size` is the logical size of the disk in bytes (for a VHD, without its footer); it does not
 *   change while the source is open.
 * - `read(offset, length)` returns exactly `length` bytes (clipped at `size`), zeros for
 *   unallocated regions; reading past `size` returns the bytes up to `size`. With `into` (at least
 *   that long) the bytes land in it and a view of it is returned, so callers can reuse buffers.
 * - `changedRanges`, when present, lists every range that may differ from the volume the parent
 *   recovery point was taken from (`parentRef`); ranges not listed are promised unchanged. A
 *   source without change tracking omits it and the engine reads everything.
 * - `allocatedRanges`, when present, lists every range that may hold bytes other than zero (sorted,
 *   not overlapping, within [0, size)); everything outside them reads as zeros, and the engine
 *   records it as holes without reading it. Undefined when the source cannot tell (the engine
 *   then reads everything); it must never leave out a range that holds data.
 * - `close` releases handles; it is safe to call twice. A read after close rejects with
 *   `SourceError` naming the source.
 * Unreadable or vanished sources reject with `SourceError` naming the source.
 */
export interface VolumeSource {
  /** Human-readable description used in messages (a path, an S3 URL, a snapshot id). */
  readonly description: string;
  /** Logical size in bytes. */
  readonly size: number;
  /** Format detected, for the record: `raw`, `vhd-fixed`, `block-device`, `ebs-snapshot`, … */
  readonly format: string;
  /** A reference later runs can pass as `parentRef` for change tracking (EBS snapshot id). */
  readonly sourceRef?: string;
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  changedRanges?(parentRef: string): Promise<ChangedRange[] | undefined>;
  /** See the contract: where the volume may hold data (the rest is zeros), if the source knows. */
  allocatedRanges?(): Promise<readonly VolumeRange[] | undefined>;
  close(): Promise<void>;
}
