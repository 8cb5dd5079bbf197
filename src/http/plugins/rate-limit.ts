import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createRequire } from 'node:module';
import { authOf } from './authentication.ts';

/** A request budget: at most `max` requests per `timeWindowMs` per caller. */
export interface RateLimitOptions {
  readonly max: number;
  readonly timeWindowMs: number;
}

// The plugin's own in-memory store (its package has no exports map), one per budget: scopes registered with
// the same options object (the protected routes and /mcp; the internal API and the web app's session routes)
// draw on one budget per caller.
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => FastifyRateLimitStore;
const stores = new WeakMap<RateLimitOptions, FastifyRateLimitStore>();

/**
 * Limits the routes of this (encapsulated) scope per caller, after authentication: 429 problem with
 * `Retry-After` and `RateLimit-*` headers past the budget. Every scope given the same `options` object shares
 * one count per caller. Counted in this process (a load guard: it protects the process's pool; with N
 * processes a caller may reach N times the budget).
 */
export async function limitPerCaller(
  scope: FastifyInstance,
  options: RateLimitOptions,
  keyOf: (request: FastifyRequest) => string,
): Promise<void> {
  let store = stores.get(options);
  if (!store) stores.set(options, (store = new LocalStore(false, false, 5000)));
  const shared = store;
  await scope.register(rateLimit, {
    max: options.max,
    timeWindow: options.timeWindowMs,
    hook: 'onRequest',
    keyGenerator: keyOf,
    enableDraftSpec: true,
    // A constructor returning the shared store: every registration with these options counts into it.
    store: function SharedStore() {
      return shared;
    } as unknown as FastifyRateLimitStoreCtor,
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
