import { isOffline, noteNetwork } from './offline.tsx';

/** A failed API call: the problem+json the server answered. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
// Read-your-writes: the newest position we know of (a write's Consistency-Token or a live event's id);
// GETs send it back so the server answers only once its read models include it.
let consistencyToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Remembers a position the next reads must include. */
export function rememberPosition(token: string | null | undefined): void {
  if (token) consistencyToken = token;
}

interface RequestInit {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls the server with the session cookie; state-changing calls carry the CSRF token. */
export async function request<T>(url: string, init: RequestInit = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (method === 'GET' && consistencyToken && url.startsWith('/api/')) headers['consistency-token'] = consistencyToken;
  // Offline, a change is refused here rather than sent (or queued) blind: the person tries again when back.
  if (method !== 'GET' && isOffline())
    throw new ApiError(0, 'offline', "You're offline: nothing was sent. Try again once you're back online.");
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
  } catch (error) {
    noteNetwork(false);
    throw error;
  }
  noteNetwork(true);
  if (method !== 'GET') rememberPosition(res.headers.get('consistency-token'));
  const text = res.status === 204 ? '' : await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const problem = (json ?? {}) as { code?: string; detail?: string; errors?: { path: string; message: string }[] };
    throw new ApiError(res.status, problem.code ?? 'error', problem.detail ?? res.statusText, problem.errors ?? []);
  }
  return json as T;
}

/** The internal API (`/api/internal/v1`). */
export function api<T>(path: string, init?: RequestInit): Promise<T> {
  return request<T>(`/api/internal/v1${path}`, init);
}

/** A message to show a person for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return fields ? `${error.message} (${fields})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
