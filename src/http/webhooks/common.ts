import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { CommandCaller } from '../../commands/context.ts';
import { type FieldError, ProblemError, problems } from '../common/problem.ts';
import { unstorableText } from '../common/validation.ts';

/** Signature missing or wrong (403): nothing is recorded. */
export function invalidSignature(detail: string): ProblemError {
  return new ProblemError(403, 'invalid_signature', 'Forbidden', detail);
}

/** The provider secret is not configured, so no request can be verified (503: the provider retries later). */
export function notConfigured(detail: string): ProblemError {
  return new ProblemError(503, 'webhook_not_configured', 'Service unavailable', detail, { headers: { 'retry-after': '60' } });
}

/**
 * Parses a verified provider payload; a mismatch, or text PostgreSQL cannot store (a NUL or an unpaired
 * surrogate), is a 400 naming each field under `body.`.
 */
export function parsePayload<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const unstorable = unstorableText(value ?? {}, 'body');
  if (unstorable.length > 0) throw problems.validation(unstorable, 'the webhook payload is not valid');
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.map((issue) => ({
    path: ['body', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw problems.validation(errors, 'the webhook payload is not valid');
}

/** Events a provider's request causes: actor `provider`, correlated by request id, caused by the provider's id. */
export function providerCaller(request: FastifyRequest, orgId: string, provider: 'twilio' | 'stripe', causationId: string): CommandCaller {
  return {
    orgId,
    actor: { type: 'provider', id: provider, label: provider === 'twilio' ? 'Twilio' : 'Stripe' },
    correlationId: request.id,
    causationId,
  };
}

/** Empty TwiML: Twilio's "nothing more to do". */
export function twiml(reply: FastifyReply): FastifyReply {
  return reply.code(200).type('text/xml').send('<Response/>');
}
