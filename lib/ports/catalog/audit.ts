import type { AuditEntry } from "../../model.ts";

/** Which audit entries to list; all fields optional and combined with AND. */
export interface AuditQuery {
  /** Only entries after this one (an integer >= 0; default 0, from the start): a page's last seq. */
  readonly afterSeq?: number;
  /** At most this many entries, the first ones after `afterSeq` (an integer >= 0). */
  readonly limit?: number;
  /** Only entries of this principal (exact match). */
  readonly principal?: string;
  /** Only entries of this action (exact match). */
  readonly action?: string;
}

/**
 * Each vault's audit log.
 *
 * Contract (test/contract/catalog-audit.contract.ts):
 * - The log is append-only: `appendAudit` adds an entry and there is, on purpose, no method to
 *   change or remove one (a returned entry is a copy; changing it changes nothing stored).
 * - The catalog assigns `seq`, ignoring any the caller passes: 1 for a vault's first entry, then
 *   one more than the vault's previous entry, without gaps, each vault numbered on its own. An
 *   append is atomic, also against concurrent appends, and returns the entry as `listAudit` will
 *   return it. It is not idempotent: appending the same entry twice records it twice. An append
 *   to a vault that does not exist rejects with `NotFoundError` naming it and uses up no `seq`.
 * - `listAudit` returns a vault's entries in ascending `seq` (not `at`: clocks may step back),
 *   those after `afterSeq` that match the query, the first `limit` of them; `afterSeq` and
 *   `limit` are integers >= 0 (anything else is a `ValidationError`). A vault without entries,
 *   or that does not exist, has none.
 */
export interface AuditLog {
  appendAudit(entry: Omit<AuditEntry, "seq">): Promise<AuditEntry>;
  listAudit(vaultId: string, query?: AuditQuery): Promise<AuditEntry[]>;
}
