/** One field-level problem of a 400. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** An HTTP problem (RFC 9457) raised by a route or plugin; the error handler renders it. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? title);
  }
}

/** Shorthands for the problems the API raises. */
export const problems = {
  validation: (errors: FieldError[], detail = 'the request is not valid') =>
    new ProblemError(400, 'validation_failed', 'Invalid request', detail, { errors }),
  /** The 400 of one bad request header: the error names `headers.<name>`; the detail reads `<Name> <message>`. */
  invalidHeader: (name: string, message: string, detail = `${name} ${message}`) =>
    problems.validation([{ path: `headers.${name.toLowerCase()}`, message }], detail),
  notFound: (what = 'resource') => new ProblemError(404, 'not_found', 'Not found', `${what} not found`),
  unauthorized: (header: string, detail: string) =>
    new ProblemError(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'www-authenticate': header } }),
  forbidden: (detail: string, headers: Record<string, string> = {}) => new ProblemError(403, 'forbidden', 'Forbidden', detail, { headers }),
  unavailable: (detail: string) =>
    new ProblemError(503, 'service_unavailable', 'Service unavailable', detail, { headers: { 'retry-after': '1' } }),
};
