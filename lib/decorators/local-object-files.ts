import type { LocalObjectFiles, StagingArea } from "../ports/local-files.ts";
import type { Semaphore } from "../util/semaphore.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";

/**
 * A store's objects as files, with each staging area's puts counted against `permits`: the same
 * permits as the store's own calls (see `LimitedObjectStore`), since a staged put is a store
 * write. Opening an area takes a permit too; locating an object's file does not (reading the
 * file is the caller's business).
 */
export function limitedLocalObjectFiles(inner: LocalObjectFiles, permits: Semaphore): LocalObjectFiles {
  const limited = (area: StagingArea | undefined): StagingArea | undefined =>
    area && {
      directory: area.directory,
      put: (key, name) => permits.run(() => area.put(key, name)),
      close: () => area.close(),
    };
  return {
    localPath: (key) => inner.localPath(key),
    stage: () => permits.run(async () => limited(await inner.stage())),
  };
}

/**
 * A store's objects as files, retried on transient errors: locating an object's file and opening
 * a staging area are retried; a staged put is not, since its first attempt consumes the file
 * (see {@link StagingArea}).
 */
export function retryingLocalObjectFiles(
  inner: LocalObjectFiles,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): LocalObjectFiles {
  return {
    localPath: (key) => retry(() => inner.localPath(key), policy, `locate object ${key}`),
    stage: () => retry(() => inner.stage(), policy, "open a staging area"),
  };
}
