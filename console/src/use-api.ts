import { useCallback, useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";

/** A resource being read from the API. */
export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  /** Reads it again now. */
  readonly reload: () => void;
}

/**
 * Reads `path` (again every `pollMs` when given, for live progress), keeping the last answer
 * while the next one is on its way so a page does not flicker.
 */
export function useApi<T>(path: string | undefined, pollMs?: number): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  // `round` is a dependency only to ask for a new read.
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    api<T>(path).then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => live && setError(err as Error),
    );
    const timer = pollMs ? setTimeout(reload, pollMs) : undefined;
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [path, pollMs, round, reload]);
  return { data, error, reload };
}
