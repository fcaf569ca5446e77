import { AlreadyExistsError, IntegrityError, NotFoundError } from "../../errors.ts";
import type { ObjectStore } from "../../ports/object-store.ts";
import { metadataId, metadataIdMatches, type VaultSecrets } from "../keys/keys.ts";

/**
 * Writes a content-addressed metadata object (index or manifest) and returns its id. Writing an
 * object that already exists is success: same name, same bytes. `onStored` hears the size of
 * what was actually added (nothing, when the object was already there).
 */
export async function putMetadata(
  store: ObjectStore,
  secrets: VaultSecrets,
  keyFor: (id: string) => string,
  bytes: Buffer,
  onStored: (bytes: number) => void = () => {},
): Promise<string> {
  const id = metadataId(secrets, bytes);
  try {
    await store.put(keyFor(id), bytes);
    onStored(bytes.length);
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  return id;
}

/**
 * Reads a metadata object and checks that its bytes still hash to its name; anything else is an
 * {@link IntegrityError} naming the object. A missing object is an IntegrityError too: the
 * catalog or another manifest promised it exists.
 */
export async function getMetadata(
  store: ObjectStore,
  secrets: VaultSecrets,
  key: string,
  id: string,
): Promise<Buffer> {
  const bytes = await getMetadataIfPresent(store, secrets, key, id);
  if (!bytes) throw new IntegrityError(`${key} is missing from the vault`);
  return bytes;
}

/**
 * Like {@link getMetadata}, for an object that may rightly be gone (an index object garbage
 * collection replaced): undefined when it is missing, an {@link IntegrityError} when it is damaged.
 */
export async function getMetadataIfPresent(
  store: ObjectStore,
  secrets: VaultSecrets,
  key: string,
  id: string,
): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await store.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  if (!metadataIdMatches(secrets, bytes, id)) {
    throw new IntegrityError(`${key} is corrupted: its content does not match its name`);
  }
  return bytes;
}
