import swagger from '@fastify/swagger';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { authenticate, authOf } from '../../plugins/auth.ts';
import { availabilityRoutes } from './availability.ts';
import { bookingRoutes } from './bookings.ts';
import { healthRoutes } from './health.ts';
import { leadSummaryRoutes } from './lead-summary.ts';
import { documentResponses } from './responses.ts';

/** Per-credential request budget of the protected API. */
export interface RateLimitOptions {
  readonly max: number;
  readonly timeWindowMs: number;
}

type Store = FastifyRateLimitStore;
// The plugin's own in-memory store (its package has no exports map); shared below so that every surface
// of the protected API draws on one budget per credential.
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => Store;
const stores = new WeakMap<RateLimitOptions, Store>();

/**
 * The protected API's per-credential rate limit on `scope` (after its authentication hook): the protected
 * routes and the MCP endpoint register it with the same options object and so share one budget per
 * credential in this process.
 */
export async function credentialRateLimit(scope: FastifyInstance, limit: RateLimitOptions): Promise<void> {
  let store = stores.get(limit);
  if (!store) stores.set(limit, (store = new LocalStore(false, false, 5000)));
  const shared = store;
  await scope.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    hook: 'onRequest',
    keyGenerator: (request) => authOf(request).credentialId,
    enableDraftSpec: true,
    // A constructor returning the shared store: every registration counts into the same one.
    store: function SharedStore() {
      return shared;
    } as unknown as FastifyRateLimitStoreCtor,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit of ${context.max} requests per ${Math.round(limit.timeWindowMs / 1000)} s exceeded; retry in ${context.after}`,
    }),
  });
}

/**
 * The protected private API: its own encapsulated context, so the OpenAPI document lists exactly
 * its routes, generated from the zod schemas that validate them.
 */
export async function privateApiV1(app: FastifyInstance, options: { rateLimit: RateLimitOptions }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'CallSnare protected private API',
        version: '1.0.0',
        description: 'Bookings for integrations. Bearer tokens are org-scoped.',
      },
      servers: [{ url: '/api/private/v1' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    // Errors, their problem+json content and every header come from one table, not from each route.
    transformObject: (input) => documentResponses(jsonSchemaTransformObject(input)),
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (protectedScope) => {
    protectedScope.addHook('onRequest', authenticate('integration'));
    await credentialRateLimit(protectedScope, options.rateLimit);
    await protectedScope.register(healthRoutes);
    await protectedScope.register(bookingRoutes);
    await protectedScope.register(availabilityRoutes);
    await protectedScope.register(leadSummaryRoutes);
  });
}
