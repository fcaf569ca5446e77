import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { IntegrityError } from "../../errors.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import { mapLimit } from "../../util/concurrency.ts";
import type { VaultSecrets } from "../keys/keys.ts";
import { BLOCK_ID_BYTES, FINGERPRINT_BYTES, manifestKey } from "../store/layout.ts";
import { getMetadata, putMetadata } from "../store/metadata-object.ts";
import { refuseNewerVersion } from "../store/object-version.ts";

/**
 * A recovery point's block map is a two-level tree: a root manifest lists segment manifests, and
 * each segment lists the IDs of `segmentBlocks` consecutive blocks (32 zero bytes for a hole). An
 * incremental point rewrites only the segments whose blocks changed; the others keep their name
 * because they keep their bytes. A segment that is all holes is not stored at all (null).
 */
export interface RootManifest {
  readonly vault: string;
  readonly disk: string;
  readonly logicalSize: number;
  readonly blockSize: number;
  readonly segmentBlocks: number;
  readonly sourceFormat: string;
  readonly segments: readonly (string | null)[];
  /**
   * The recovery point this root belongs to, its parent and its creation time, as the catalog
   * records them: present in every root written since version 2 (a *bound* root), absent in
   * version 1. The root's name is its keyed hash, so these are authenticated like the rest.
   */
  readonly point?: string;
  readonly parent?: string | null;
  readonly created?: number;
}

/** A root manifest that names its recovery point (version 2). */
export interface BoundRootManifest extends RootManifest {
  readonly point: string;
  readonly parent: string | null;
  readonly created: number;
}

/** True for a root that names the recovery point it belongs to; false for a version 1 root. */
export function isBound(root: RootManifest): root is BoundRootManifest {
  return typeof root.point === "string";
}

/** A root as written first, naming no recovery point. Still read; see point-binding.ts. */
const ROOT_MAGIC_UNBOUND = Buffer.from("BVRT\x01");
/** A root as written now, bound to its recovery point. */
const ROOT_MAGIC = Buffer.from("BVRT\x02");
/** A segment as written first: the entries as they are. Still read. */
const SEGMENT_MAGIC_RAW = Buffer.from("BVSG\x01");
/** A segment as written now: the entries zstd-compressed, so holes (all-zero entries) cost nothing. */
const SEGMENT_MAGIC = Buffer.from("BVSG\x02");
/** No segment holds more entries: a bound on what decompressing a damaged one may allocate. */
const MAX_SEGMENT_BLOCKS = 1 << 16;
/** Bytes of one block's entry in a segment: its ID and its fingerprint. */
const ENTRY_BYTES = BLOCK_ID_BYTES + FINGERPRINT_BYTES;

/** All-zero ID: the marker of a hole (an HMAC output is never all zeros in practice). */
export const HOLE_ID = Buffer.alloc(BLOCK_ID_BYTES);

/** Number of blocks of a disk of `size` bytes. */
export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/**
 * A segment is its blocks' IDs, then their fingerprints (see fingerprint.ts), compressed. IDs
 * and fingerprints of data blocks are random and stay as they are; runs of holes vanish.
 */
function encodeSegment(ids: Buffer, fingerprints: Buffer): Buffer {
  return Buffer.concat([SEGMENT_MAGIC, zstdCompressSync(Buffer.concat([ids, fingerprints]))]);
}

/**
 * The entries (IDs, then fingerprints) of a segment manifest, checked to be `count` long when
 * `count` is given, else any whole number of entries.
 */
function decodeSegment(key: string, bytes: Buffer, count?: number): Buffer {
  refuseNewerVersion(key, bytes, "BVSG", 2, "segment manifest");
  const magic = bytes.subarray(0, SEGMENT_MAGIC.length);
  let body: Buffer;
  if (magic.equals(SEGMENT_MAGIC_RAW)) body = bytes.subarray(SEGMENT_MAGIC_RAW.length);
  else if (magic.equals(SEGMENT_MAGIC)) {
    try {
      body = zstdDecompressSync(bytes.subarray(SEGMENT_MAGIC.length), {
        maxOutputLength: MAX_SEGMENT_BLOCKS * ENTRY_BYTES,
      });
    } catch (cause) {
      throw new IntegrityError(`${key}: unreadable segment manifest`, { cause });
    }
  } else throw new IntegrityError(`${key}: not a segment manifest`);
  if (count === undefined ? body.length % ENTRY_BYTES !== 0 : body.length !== count * ENTRY_BYTES) {
    throw new IntegrityError(`${key}: not a segment manifest of the expected length`);
  }
  return body;
}

function encodeRoot(root: BoundRootManifest): Buffer {
  return Buffer.concat([ROOT_MAGIC, Buffer.from(JSON.stringify(root))]);
}

function decodeRoot(key: string, bytes: Buffer): RootManifest {
  refuseNewerVersion(key, bytes, "BVRT", 2, "root manifest");
  const magic = bytes.subarray(0, ROOT_MAGIC.length);
  const bound = magic.equals(ROOT_MAGIC);
  if (!bound && !magic.equals(ROOT_MAGIC_UNBOUND)) throw new IntegrityError(`${key}: not a root manifest`);
  let root: RootManifest;
  try {
    root = JSON.parse(bytes.subarray(ROOT_MAGIC.length).toString("utf8")) as RootManifest;
  } catch (cause) {
    throw new IntegrityError(`${key}: unreadable root manifest`, { cause });
  }
  if (!bound) {
    // A version 1 root never names a point: whatever it holds under those names is ignored.
    const { point: _p, parent: _q, created: _c, ...unbound } = root;
    return unbound;
  }
  const { point, parent, created } = root;
  if (
    typeof point !== "string" ||
    !(parent === null || typeof parent === "string") ||
    !Number.isSafeInteger(created)
  ) {
    throw new IntegrityError(`${key}: root manifest does not name its recovery point`);
  }
  return root;
}

/** Reads and verifies a root manifest alone: its segment list, without the segments. */
export async function loadRoot(
  store: ObjectStore,
  secrets: VaultSecrets,
  rootId: string,
): Promise<RootManifest> {
  const rootKey = manifestKey(rootId);
  return decodeRoot(rootKey, await getMetadata(store, secrets, rootKey, rootId));
}

/** The full block map of a recovery point, loaded and verified. */
export interface LoadedManifest {
  readonly root: RootManifest;
  /** `blockCount × 32` bytes of block IDs, holes all zero. */
  readonly ids: Buffer;
  /** `blockCount × 16` bytes of block fingerprints, holes all zero. */
  readonly fingerprints: Buffer;
}

/** Reads a root manifest and all its segments, verifying each against its name. */
export async function loadManifest(
  store: ObjectStore,
  secrets: VaultSecrets,
  rootId: string,
  verify?: RootCheck,
): Promise<LoadedManifest> {
  const manifest = await streamManifest(store, secrets, rootId, verify);
  await manifest.complete;
  return manifest;
}

/**
 * A block map whose segments are still arriving: `ids` and `fingerprints` fill in as segments
 * load (in disk order, several at a time), so a backup can start scanning the first segments
 * while later ones are still being read.
 */
export interface StreamedManifest extends LoadedManifest {
  /** Resolves once segment `s` is in `ids` and `fingerprints`; rejects if it failed to load. */
  segmentLoaded(s: number): Promise<void>;
  /** Resolves when every segment is loaded; rejects with the first failure. */
  readonly complete: Promise<void>;
}

/**
 * A check of a root against what the caller expects of it (the catalog row it was reached
 * from), run before any segment is read; it throws to refuse the root.
 */
export type RootCheck = (root: RootManifest) => void | Promise<void>;

/** Segments read at once: enough to hide each read's latency. */
const SEGMENT_READS = 16;

/** Reads a root manifest, then starts loading its segments; see {@link StreamedManifest}. */
export async function streamManifest(
  store: ObjectStore,
  secrets: VaultSecrets,
  rootId: string,
  verify?: RootCheck,
): Promise<StreamedManifest> {
  const rootKey = manifestKey(rootId);
  const root = await loadRoot(store, secrets, rootId);
  await verify?.(root);
  const blocks = blockCount(root.logicalSize, root.blockSize);
  if (root.segments.length !== Math.ceil(blocks / root.segmentBlocks)) {
    throw new IntegrityError(`${rootKey}: segment count does not match the disk size`);
  }
  const ids = Buffer.alloc(blocks * BLOCK_ID_BYTES);
  const fingerprints = Buffer.alloc(blocks * FINGERPRINT_BYTES);
  const loaded = root.segments.map(() => deferred());
  const complete = mapLimit(root.segments, SEGMENT_READS, async (segmentId, s) => {
    try {
      if (segmentId !== null)
        await loadSegmentInto(store, secrets, root, blocks, segmentId, s, ids, fingerprints);
      loaded[s]!.resolve();
    } catch (err) {
      loaded[s]!.reject(err);
      throw err;
    }
  }).then(
    () => undefined,
    (err: unknown) => {
      // Segments no reader got to yet fail too, so that no waiter hangs.
      for (const d of loaded) d.reject(err);
      throw err;
    },
  );
  // Waiters may stop early (a failed backup); a failure nobody awaits must not crash the process.
  complete.catch(() => {});
  return { root, ids, fingerprints, segmentLoaded: (s) => loaded[s]!.promise, complete };
}

async function loadSegmentInto(
  store: ObjectStore,
  secrets: VaultSecrets,
  root: RootManifest,
  blocks: number,
  segmentId: string,
  s: number,
  ids: Buffer,
  fingerprints: Buffer,
): Promise<void> {
  const key = manifestKey(segmentId);
  const count = Math.min(root.segmentBlocks, blocks - s * root.segmentBlocks);
  const body = decodeSegment(key, await getMetadata(store, secrets, key, segmentId), count);
  const first = s * root.segmentBlocks;
  body.copy(ids, first * BLOCK_ID_BYTES, 0, count * BLOCK_ID_BYTES);
  body.copy(fingerprints, first * FINGERPRINT_BYTES, count * BLOCK_ID_BYTES);
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * Reads one segment manifest, verified against its name, and returns its block IDs (32 bytes
 * each, holes all zero), for callers that walk segments shared by many points only once.
 */
export async function loadSegmentIds(
  store: ObjectStore,
  secrets: VaultSecrets,
  segmentId: string,
): Promise<Buffer> {
  const key = manifestKey(segmentId);
  const body = decodeSegment(key, await getMetadata(store, secrets, key, segmentId));
  return body.subarray(0, (body.length / ENTRY_BYTES) * BLOCK_ID_BYTES);
}

/** Writes a segment manifest (idempotent) and returns its id. */
export function writeSegment(
  store: ObjectStore,
  secrets: VaultSecrets,
  ids: Buffer,
  fingerprints: Buffer,
  onStored?: (bytes: number) => void,
): Promise<string> {
  return putMetadata(store, secrets, manifestKey, encodeSegment(ids, fingerprints), onStored);
}

/** Writes a root manifest, bound to its recovery point (idempotent), and returns its id. */
export function writeRoot(
  store: ObjectStore,
  secrets: VaultSecrets,
  root: BoundRootManifest,
  onStored?: (bytes: number) => void,
): Promise<string> {
  return putMetadata(store, secrets, manifestKey, encodeRoot(root), onStored);
}

/** True when every ID in `ids` is the hole marker: such a segment is not stored at all. */
export function isAllHoles(ids: Buffer): boolean {
  for (let at = 0; at < ids.length; at += BLOCK_ID_BYTES) {
    if (!ids.subarray(at, at + BLOCK_ID_BYTES).equals(HOLE_ID)) return false;
  }
  return true;
}
