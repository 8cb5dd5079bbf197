import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authOf } from './auth.ts';

/** A request budget: at most `max` requests per `timeWindowMs` per caller. */
export interface RateLimitOptions {
  readonly max: number;
  readonly timeWindowMs: number;
}

/**
 * Limits the routes of this (encapsulated) scope per caller, after authentication: 429 problem with
 * `Retry-After` and `RateLimit-*` headers past the budget. Counted in this process (a load guard: it
 * protects the process's pool; with N processes a caller may reach N times the budget).
 */
export async function limitPerCaller(
  scope: FastifyInstance,
  options: RateLimitOptions,
  keyOf: (request: FastifyRequest) => string,
): Promise<void> {
  await scope.register(rateLimit, {
    max: options.max,
    timeWindow: options.timeWindowMs,
    hook: 'onRequest',
    keyGenerator: keyOf,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit of ${context.max} requests per ${Math.round(options.timeWindowMs / 1000)} s exceeded; retry in ${context.after}`,
    }),
  });
}

/** Whose budget a member's request uses: the person (token or web session alike), else the credential. */
export function memberKey(request: FastifyRequest): string {
  const auth = authOf(request);
  return auth.memberId ?? auth.credentialId;
}
