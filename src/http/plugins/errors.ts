import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  ConcurrencyConflictError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  VersionMismatchError,
} from '../../commands/errors.ts';
import { DomainRuleError, NotFoundError, StateConflictError } from '../../domain/errors.ts';
import { InvalidCursorError } from '../../queries/cursor.ts';
import { type FieldError, ProblemError, problems } from '../common/problem.ts';

/** Renders a problem as application/problem+json with the request id. */
/** The problem+json document of `problem` for this request: what the HTTP API answers and MCP tool errors carry. */
export function problemDocument(request: FastifyRequest, problem: ProblemError) {
  return {
    type: `/docs/problems/${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    code: problem.code,
    requestId: request.id,
    ...(problem.extra.errors && { errors: problem.extra.errors }),
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError): FastifyReply {
  for (const [name, value] of Object.entries(problem.extra.headers ?? {})) reply.header(name, value);
  return reply.code(problem.status).type('application/problem+json').send(problemDocument(request, problem));
}

// Connection-level failures: the database went away or is restarting.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e.code !== undefined && UNAVAILABLE_CODES.has(e.code)) ||
    /Connection terminated|connection error|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e.message ?? '',
    )
  );
}

/** Maps any thrown error to a problem; unknown errors become an opaque 500. */
export function toProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? 'body';
    // The provider's issue type does not resolve through its declaration files; these two fields are all we read.
    const issues = (error as unknown as { validation: readonly { instancePath: string; message?: string }[] }).validation;
    const errors: FieldError[] = issues.map((v) => ({
      path: [context, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'is invalid',
    }));
    return problems.validation(errors);
  }
  if (error instanceof DomainRuleError) {
    return problems.validation([{ path: `body.${error.path}`, message: error.message }], error.message);
  }
  if (error instanceof InvalidCursorError) {
    return problems.validation([{ path: 'querystring.cursor', message: error.message }], error.message);
  }
  if (error instanceof NotFoundError) return new ProblemError(404, 'not_found', 'Not found', error.message);
  if (error instanceof StateConflictError) return new ProblemError(409, error.code, 'Conflict', error.message);
  if (error instanceof IdempotencyKeyReusedError)
    return new ProblemError(409, 'idempotency_key_reused', 'Idempotency-Key reused', error.message);
  if (error instanceof IdempotencyInProgressError) {
    return new ProblemError(409, 'idempotency_request_in_progress', 'Request in progress', error.message, {
      headers: { 'retry-after': '1' },
    });
  }
  if (error instanceof VersionMismatchError) return new ProblemError(412, 'version_mismatch', 'Precondition failed', error.message);
  if (error instanceof ConcurrencyConflictError) return new ProblemError(409, 'concurrency_conflict', 'Conflict', error.message);
  // Anything may arrive here (a SyntaxError from a body parser has no code): every field is optional.
  const fastifyError = error as Partial<FastifyError> & Error;
  if (fastifyError.statusCode === 413 || fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new ProblemError(413, 'payload_too_large', 'Payload too large', 'the body is larger than 64 KiB');
  }
  if (fastifyError.statusCode === 415)
    return new ProblemError(415, 'unsupported_media_type', 'Unsupported media type', fastifyError.message);
  if (fastifyError.statusCode === 429) {
    return new ProblemError(429, 'rate_limited', 'Too many requests', fastifyError.message);
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const isJson = fastifyError.code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError;
    const path = isJson ? 'body' : fastifyError.code === 'FST_ERR_BAD_URL' ? 'url' : 'request';
    return new ProblemError(fastifyError.statusCode, 'bad_request', 'Bad request', fastifyError.message, {
      errors: [{ path, message: fastifyError.message }],
    });
  }
  if (isDatabaseUnavailable(error)) return problems.unavailable('the database is unavailable; retry shortly');
  return new ProblemError(500, 'internal_error', 'Internal server error', 'something went wrong on our side; the request id identifies it');
}

/** One error handler and one not-found handler for the whole app (problem+json everywhere). */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error, request, reply) => {
    let problem = toProblem(error);
    if (problem.status === 415) {
      // Name the media type this route takes, and what came instead.
      const expected = request.url.startsWith('/webhooks/twilio') ? 'application/x-www-form-urlencoded' : 'application/json';
      const got = request.headers['content-type'];
      problem = new ProblemError(
        415,
        problem.code,
        problem.title,
        `send the body with Content-Type: ${expected} (${got ? `got ${got}` : 'the request had no Content-Type'})`,
      );
    }
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new ProblemError(404, 'not_found', 'Not found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
});
