import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
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
    await protectedScope.register(rateLimit, {
      max: options.rateLimit.max,
      timeWindow: options.rateLimit.timeWindowMs,
      hook: 'onRequest',
      keyGenerator: (request) => authOf(request).credentialId,
      enableDraftSpec: true,
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429,
        message: `rate limit of ${context.max} requests per ${Math.round(options.rateLimit.timeWindowMs / 1000)} s exceeded; retry in ${context.after}`,
      }),
    });
    await protectedScope.register(healthRoutes);
    await protectedScope.register(bookingRoutes);
    await protectedScope.register(availabilityRoutes);
    await protectedScope.register(leadSummaryRoutes);
  });
}
