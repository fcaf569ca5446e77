/** A satisfiable byte range of a resource: `[start, end]`, inclusive as HTTP writes it. */
export interface ByteRangeRequest {
  readonly start: number;
  readonly end: number;
}

/**
 * The one range a `Range` header asks of a resource of `size` bytes: undefined when there is no
 * header or it is not a single `bytes=` range (the whole resource is served, as HTTP allows),
 * "unsatisfiable" when it lies outside the resource (416).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRangeRequest | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || end < start) return "unsatisfiable";
  return { start, end };
}
