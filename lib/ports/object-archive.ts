/**
 * Storage classes an {@link ObjectArchive} knows, cheapest to read first. `STANDARD` and
 * `STANDARD_IA` are online (readable at once); `GLACIER` and `DEEP_ARCHIVE` are archive tiers whose
 * objects must be restored before they can be read.
 */
export const STORAGE_CLASSES = ["STANDARD", "STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/** Retrieval speeds a restore can ask for; faster is dearer (S3's Glacier retrieval tiers). */
export const RESTORE_TIERS = ["Expedited", "Standard", "Bulk"] as const;
export type RestoreTier = (typeof RESTORE_TIERS)[number];

/**
 * Where an object stands between the archive and the online tier:
 * - `online`: its storage class is online; `get` works.
 * - `archived`: it is in an archive tier with no readable copy; `get` rejects with
 *   `ArchivedObjectError`.
 * - `restoring`: a restore was requested and has not completed; `get` still rejects.
 * - `restored`: a temporary readable copy exists (until the restore's days run out); `get` works,
 *   while the object itself stays in its archive class.
 */
export type RestoreState = "online" | "archived" | "restoring" | "restored";

/** How long a restored copy stays readable, and how fast to produce it. */
export interface RestoreRequest {
  /** Whole days (>= 1) the restored copy stays readable once the restore completes. */
  readonly days: number;
  readonly tier: RestoreTier;
}

/** True for the storage classes whose objects need a restore before they can be read. */
export function isArchiveClass(cls: StorageClass): boolean {
  return cls === "GLACIER" || cls === "DEEP_ARCHIVE";
}

/**
 * Tiering and rehydration for the objects of an `ObjectStore`, kept apart from
 * the store port because only some backends have archive tiers.
 *
 * Contract:
 * - Every method takes an object key obeying the object-store key rules (`ValidationError`
 *   otherwise) and rejects with `NotFoundError` naming the key when the object does not exist.
 * - `storageClass` is the object's current class (`STANDARD` for objects never tiered).
 * - `setStorageClass` moves the object to `cls`, keeping its key, bytes and stored checksum. It is
 *   a no-op when the object is already in `cls`. An archived object must be `restored` before it
 *   can change class (S3 copies it to do so); otherwise it rejects with `ArchivedObjectError`.
 *   Moving to an archive class makes `get` reject with `ArchivedObjectError` from then on.
 * - `requestRestore` starts producing a temporary readable copy of an archived object, readable
 *   for `days` days once ready. It is idempotent: a restore already in progress, or already
 *   completed, is success (a completed one may have its days extended). For an object that is
 *   online it does nothing. `days` must be a whole number >= 1 (`ValidationError`). A backend may
 *   refuse a tier it does not offer for the object's class (S3: `Expedited` for `DEEP_ARCHIVE`).
 *   Completion is asynchronous: poll `restoreState`.
 * - `restoreState` reports the object's {@link RestoreState}. To bring a restored object back
 *   online for good, `setStorageClass(key, "STANDARD")` while it is `restored`.
 * - Failures that may pass are `TransientError`s (`retryable: true`), as for the store.
 */
export interface ObjectArchive {
  storageClass(key: string): Promise<StorageClass>;
  setStorageClass(key: string, cls: StorageClass): Promise<void>;
  requestRestore(key: string, request: RestoreRequest): Promise<void>;
  restoreState(key: string): Promise<RestoreState>;
}
