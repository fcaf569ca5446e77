/**
 * The console's only way to the vault: the HTTP API of the server that served the page (same
 * origin), with the bearer token the user signed in with. The token lives in sessionStorage:
 * it goes with the tab, not with the browser.
 */

const TOKEN_KEY = "blockvault.token";

/** The token this tab signed in with, if any. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** A refusal or failure the API answered, with its code and one-line message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request a critical operation created (428). */
  readonly approvalRequestId: string | undefined;

  constructor(status: number, code: string, message: string, approvalRequestId?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.approvalRequestId = approvalRequestId;
  }
}

/** Options of {@link api}. */
export interface CallOptions {
  readonly method?: "GET" | "POST" | "PUT" | "DELETE";
  readonly body?: unknown;
  readonly approvalId?: string;
  readonly idempotencyKey?: string;
  /** Another token than the stored one (signing in checks a token before storing it). */
  readonly token?: string;
}

/** Calls the API; resolves with the parsed body, rejects with {@link ApiError}. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const token = options.token ?? storedToken();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.approvalId) headers["x-approval-id"] = options.approvalId;
  if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
  const response = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; approvalRequestId?: string } })
      ?.error;
    throw new ApiError(
      response.status,
      error?.code ?? "HTTP",
      error?.message ?? `${response.status} ${response.statusText}`,
      error?.approvalRequestId,
    );
  }
  return parsed as T;
}

/** A path segment, percent-encoded. */
export const seg = (value: string): string => encodeURIComponent(value);
