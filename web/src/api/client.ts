// The typed API client: openapi-fetch over the generated schema, with the access token in
// memory and refresh-token rotation on a 401 (one refresh in flight at a time).
import createClient from "openapi-fetch";
import type { paths } from "./schema";

export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
  correlation_id?: string | null;
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  constructor(status: number, env: ErrorEnvelope) {
    super(env.message);
    this.code = env.code;
    this.status = status;
    this.details = env.details;
  }
}

const REFRESH_KEY = "quantlab.refresh";
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export function setTokens(pair: TokenPair | null): void {
  accessToken = pair?.access_token ?? null;
  if (pair) sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  else sessionStorage.removeItem(REFRESH_KEY);
  listeners.forEach((l) => l(pair !== null));
}

export function getAccessToken(): string | null {
  return accessToken;
}

export function getRefreshToken(): string | null {
  return sessionStorage.getItem(REFRESH_KEY);
}

export function onAuthChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Rotate the refresh token; false (and signed out) when it is no longer valid. */
export function refreshTokens(): Promise<boolean> {
  const token = getRefreshToken();
  if (!token) return Promise.resolve(false);
  refreshing ??= fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: token }),
  })
    .then(async (resp) => {
      if (!resp.ok) {
        // a refused token ends the session; a rate limit or a server error keeps it to retry
        if (resp.status !== 429 && resp.status < 500) setTokens(null);
        return false;
      }
      setTokens((await resp.json()) as TokenPair);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  if (accessToken) input.headers.set("Authorization", `Bearer ${accessToken}`);
  const resp = await fetch(input);
  if (resp.status !== 401 || input.url.includes("/api/auth/token")) return resp;
  if (!(await refreshTokens())) return resp;
  retry.headers.set("Authorization", `Bearer ${accessToken}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: "", fetch: authFetch });

/** An envelope's error, or a generic one for a body that is not an envelope. */
export function toApiError(status: number, body: unknown): ApiError {
  const env = (body as { error?: ErrorEnvelope } | undefined)?.error;
  if (env && typeof env.message === "string") return new ApiError(status, env);
  return new ApiError(status, { code: "HTTP_" + status, message: `HTTP ${status}` });
}

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The ``data`` of a success envelope; throws ApiError with the envelope's message. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function unwrap<T = any>(call: Promise<FetchResult>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw toApiError(response.status, error);
  const body = data as { data?: T } | undefined;
  return (body?.data ?? (body as T)) as T;
}

/** Plain JSON request for routes whose bodies the schema leaves open (multipart, etc.). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function request<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const req = new Request(path, init);
  const resp = await authFetch(req);
  const text = await resp.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!resp.ok) throw toApiError(resp.status, body);
  return (body?.data ?? body) as T;
}

export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** Every item of a paginated list (pages of 200 fetched in parallel after the first). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function requestAll<T = any>(path: string, limit = 20000): Promise<T[]> {
  const sep = path.includes("?") ? "&" : "?";
  const first = await authFetch(new Request(`${path}${sep}size=200&page=1`));
  const body = await first.json();
  if (!first.ok) throw toApiError(first.status, body);
  const total = Math.min(body.meta?.total ?? body.data.length, limit);
  const pages = Math.ceil(total / 200);
  const rest = await Promise.all(
    Array.from({ length: Math.max(0, pages - 1) }, (_, i) => request<T[]>(`${path}${sep}size=200&page=${i + 2}`)),
  );
  return [...(body.data as T[]), ...rest.flat()];
}

/** One page of a paginated list with its total (for tables paginated on the server). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function requestPage<T = any>(path: string): Promise<{ items: T[]; total: number }> {
  const resp = await authFetch(new Request(path));
  const body = await resp.json();
  if (!resp.ok) throw toApiError(resp.status, body);
  return { items: body.data as T[], total: body.meta?.total ?? body.data.length };
}
