/**
 * JSON that carries what port calls pass and plain JSON drops: `undefined` (a `JobChanges` field
 * given as `undefined` clears it, so it must arrive as given) and bytes (`Uint8Array`, `Buffer`).
 * Objects whose only key starts with `$` are reserved for these two tags.
 */
export function toWire(value: unknown): string {
  return JSON.stringify(tagged(value));
}

/** The value {@link toWire} encoded; bytes come back as `Buffer`s. */
export function fromWire(text: string): unknown {
  return untagged(JSON.parse(text));
}

const UNDEFINED = "$undefined";
const BYTES = "$bytes";

function tagged(value: unknown): unknown {
  if (value === undefined) return { [UNDEFINED]: true };
  if (value instanceof Uint8Array) return { [BYTES]: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(tagged);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = tagged(field);
    return out;
  }
  return value;
}

function untagged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untagged);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, field] = entries[0]!;
    if (key === UNDEFINED && field === true) return undefined;
    if (key === BYTES && typeof field === "string") return Buffer.from(field, "base64");
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of entries) out[key] = untagged(field);
  return out;
}
