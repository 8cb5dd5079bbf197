/**
 * Every response of the protected API, as one table: for each route its success status and headers,
 * and every error status it can give. The OpenAPI document is completed from this table (see
 * {@link documentResponses}), so a route's problems, content types and headers are written once.
 */

/** Headers the protected API sends, as OpenAPI header objects. */
const HEADERS = {
  'Request-Id': {
    description: 'Identifies the request in our logs (also `requestId` in problems)',
    schema: { type: 'string', format: 'uuid' },
  },
  'Cache-Control': { description: 'Always `no-store`', schema: { type: 'string', const: 'no-store' } },
  'RateLimit-Limit': {
    description: 'Requests allowed per window for this credential (absent when authentication failed)',
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Remaining': { description: 'Requests left in the current window', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer', minimum: 0 } },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': {
    description:
      'RFC 6750 challenge: `Bearer realm="callsnare"`, with `error="invalid_token"` or `error="insufficient_scope", scope="..."`',
    schema: { type: 'string' },
  },
  Location: { description: 'Path of the created booking', schema: { type: 'string' } },
  ETag: { description: 'The booking version, quoted (`"3"`); send it back in `If-Match`', schema: { type: 'string', pattern: '^"\\d+"$' } },
  'Consistency-Token': {
    description: 'Position of this write; send it back on a GET to read your write',
    schema: { type: 'string', pattern: '^\\d+\\.\\d+$' },
  },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored response of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', const: 'true' },
  },
} as const;

type HeaderName = keyof typeof HEADERS;

/** Headers of every response; only these marked true are always present. */
const COMMON_HEADERS: Partial<Record<HeaderName, boolean>> = {
  'Request-Id': true,
  'Cache-Control': true,
  'RateLimit-Limit': false,
  'RateLimit-Remaining': false,
  'RateLimit-Reset': false,
};

/** Error statuses of the protected API: what each means and the headers it carries (true: always). */
const ERRORS = {
  400: {
    description: 'The request is not valid (body, query, path or a header such as If-Match or Consistency-Token); `errors` names each path',
    headers: {},
  },
  401: { description: 'No token, or an unknown, revoked or expired one', headers: { 'WWW-Authenticate': true } },
  403: { description: 'The token lacks the scope this route needs (`insufficient_scope`)', headers: { 'WWW-Authenticate': true } },
  404: {
    description: 'Absent, or belongs to another org (the same answer for both); for a planned action, `action_not_enabled`',
    headers: {},
  },
  409: {
    description:
      '`idempotency_key_reused`, `idempotency_request_in_progress` (with Retry-After), `booking_state_conflict` or `concurrency_conflict`',
    headers: { 'Retry-After': false },
  },
  412: { description: '`If-Match` names another version than the current one (`version_mismatch`)', headers: {} },
  413: { description: 'The body is larger than 64 KiB', headers: {} },
  415: { description: 'The body is not `application/json`', headers: {} },
  429: { description: 'The credential used up its rate limit', headers: { 'Retry-After': true } },
  503: {
    description:
      'The database is unavailable, or (`consistency_timeout`) the read model has not caught up with the Consistency-Token within 5 s',
    headers: { 'Retry-After': true },
  },
} as const satisfies Record<number, { description: string; headers: Partial<Record<HeaderName, boolean>> }>;

/** An error status the protected API documents. */
export type ErrorStatus = keyof typeof ERRORS;

interface RouteResponses {
  readonly success: 200 | 201;
  /** Headers of the success response beyond the common ones (true: always present). */
  readonly headers: Partial<Record<HeaderName, boolean>>;
  readonly errors: readonly ErrorStatus[];
}

const READ = [400, 401, 403, 429, 503] as const;
const WRITE = [400, 401, 403, 409, 413, 415, 429, 503] as const;

/** The table: every protected route (method and OpenAPI path) → its responses. */
export const ROUTE_RESPONSES: Readonly<Record<string, RouteResponses>> = {
  'GET /health': { success: 200, headers: {}, errors: [401, 429, 503] },
  'GET /bookings': { success: 200, headers: {}, errors: [...READ] },
  'GET /bookings/{bookingId}': { success: 200, headers: { ETag: true }, errors: [...READ, 404] },
  'POST /bookings': {
    success: 201,
    headers: { Location: true, ETag: true, 'Consistency-Token': false, 'Idempotent-Replayed': false },
    errors: [...WRITE],
  },
  'PATCH /bookings/{bookingId}': {
    success: 200,
    headers: { ETag: true, 'Consistency-Token': false, 'Idempotent-Replayed': false },
    errors: [...WRITE, 404, 412],
  },
  'GET /availability': { success: 200, headers: {}, errors: [...READ, 404] },
  'GET /leads/{leadId}/summary': { success: 200, headers: {}, errors: [...READ, 404] },
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface OpenApiResponse {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, unknown>;
}
type Operation = { responses?: Record<string, OpenApiResponse> } & Record<string, unknown>;

function headersOf(names: Partial<Record<HeaderName, boolean>>): Record<string, unknown> {
  const all = { ...COMMON_HEADERS, ...names };
  return Object.fromEntries(Object.entries(all).map(([name, required]) => [name, { ...HEADERS[name as HeaderName], required }]));
}

/**
 * Completes the generated OpenAPI document from {@link ROUTE_RESPONSES}: each operation's success
 * response gets its headers, and every error status its `application/problem+json` Problem and headers.
 * A route missing from the table (or a table entry without a route) fails document generation.
 */
export function documentResponses<T extends object>(document: T): T {
  const doc = document as {
    paths?: Record<string, Record<string, unknown> | undefined>;
    components?: { schemas?: Record<string, unknown> };
  };
  if (!doc.components?.schemas?.Problem) throw new Error('the OpenAPI document has no Problem schema');
  const seen = new Set<string>();
  for (const [path, item = {}] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const table = ROUTE_RESPONSES[key];
      if (!table) throw new Error(`${key} has no entry in ROUTE_RESPONSES (src/http/api/private/v1/responses.ts)`);
      seen.add(key);
      const success = operation.responses?.[String(table.success)];
      if (!success) throw new Error(`${key} does not declare its ${table.success} response schema`);
      const responses: Record<string, OpenApiResponse> = {
        [table.success]: {
          ...success,
          description: success.description === 'Default Response' ? (table.success === 201 ? 'Created' : 'OK') : success.description,
          headers: headersOf(table.headers),
        },
      };
      for (const status of [...table.errors].sort()) {
        const error = ERRORS[status];
        responses[status] = {
          description: error.description,
          headers: headersOf(error.headers),
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        };
      }
      operation.responses = responses;
    }
  }
  // The zod registry writes `$id: "#/components/schemas/X"` and `$schema` into each component; a fragment
  // `$id` is not valid JSON Schema 2020-12, and the document's dialect already says which schema language applies.
  for (const schema of Object.values(doc.components.schemas) as Record<string, unknown>[]) {
    if (typeof schema.$id === 'string' && schema.$id.startsWith('#')) delete schema.$id;
    delete schema.$schema;
  }
  const unserved = Object.keys(ROUTE_RESPONSES).filter((key) => !seen.has(key));
  if (unserved.length > 0) throw new Error(`ROUTE_RESPONSES lists routes the API does not serve: ${unserved.join(', ')}`);
  return document;
}
