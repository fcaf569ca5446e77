import type { ComponentChildren } from "preact";
import { ApiError } from "./api.ts";

/** An error as one line, in a live region so screen readers announce it. */
export function ErrorLine({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? ` (${error.status})` : "";
  return (
    <p class="error" role="alert">
      {message}
      {code}
    </p>
  );
}

/** A message that something worked, announced politely. */
export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** "Loading…" until data comes, then the children; the error if reading failed. */
export function Loading<T>({
  data,
  error,
  children,
}: {
  data: T | undefined;
  error: unknown;
  children: (data: T) => ComponentChildren;
}) {
  if (data === undefined) return error ? <ErrorLine error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <>
      {error ? <ErrorLine error={error} /> : null}
      {children(data)}
    </>
  );
}

/** A state as a coloured badge with its word (colour is never the only sign). */
export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

/** A section of a page with a heading. */
export function Card({
  title,
  children,
  id,
  wide,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
  /** Across the whole row of cards. */
  wide?: boolean;
}) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section class={wide ? "card wide" : "card"} aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}
