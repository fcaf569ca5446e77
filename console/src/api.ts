/**
 * The console's only way to the vault: the HTTP API of the server that served the page (same
 * origin), with what the user signed in with — a bearer token (`blockvault serve`) or temporary
 * AWS credentials whose SigV4 signature the deployed API checks (IAM authorization). Either lives
 * in sessionStorage: it goes with the tab, not with the browser.
 */
import { AwsClient } from "aws4fetch";

const TOKEN_KEY = "blockvault.token";
const AWS_KEY = "blockvault.aws";

/** Temporary AWS credentials, for the deployed API. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly region: string;
}

/** The credentials this tab signed in with, if they are AWS ones. */
export function storedAws(): AwsCredentials | undefined {
  const text = sessionStorage.getItem(AWS_KEY);
  return text ? (JSON.parse(text) as AwsCredentials) : undefined;
}

/** Keeps (or, with undefined, forgets) this tab's AWS credentials. */
export function storeAws(credentials: AwsCredentials | undefined): void {
  if (credentials === undefined) sessionStorage.removeItem(AWS_KEY);
  else sessionStorage.setItem(AWS_KEY, JSON.stringify(credentials));
}

/** Whether this tab has signed in, one way or the other. */
export function signedIn(): boolean {
  return storedToken() !== undefined || storedAws() !== undefined;
}

/** Forgets whatever this tab signed in with. */
export function signOut(): void {
  storeToken(undefined);
  storeAws(undefined);
}

/** The region of an API Gateway default host name (`abc.execute-api.eu-west-1.amazonaws.com`). */
export function regionOfHost(host: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

/** The token this tab signed in with, if any. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps (or, with undefined, forgets) this tab's bearer token. */
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
  /** Other AWS credentials than the stored ones (likewise). */
  readonly aws?: AwsCredentials;
}

/** Sends the request: SigV4-signed with AWS credentials, else with the bearer token. */
function send(path: string, init: RequestInit, options: CallOptions): Promise<Response> {
  const aws = options.aws ?? (options.token === undefined ? storedAws() : undefined);
  if (aws) {
    const client = new AwsClient({
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.sessionToken ? { sessionToken: aws.sessionToken } : {}),
      service: "execute-api",
      region: aws.region,
    });
    return client.fetch(new URL(path, location.href).href, init);
  }
  const token = options.token ?? storedToken();
  return fetch(path, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string>),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
}

/** Calls the API; resolves with the parsed body, rejects with {@link ApiError}. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.approvalId) headers["x-approval-id"] = options.approvalId;
  if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
  const response = await send(
    path,
    {
      method: options.method ?? "GET",
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    },
    options,
  );
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
