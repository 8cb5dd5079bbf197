import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { authenticate, authOf } from '../../../plugins/authentication.ts';
import { limitPerCaller, type RateLimitOptions } from '../../../plugins/rate-limit.ts';
import { availabilityRoutes } from './availability.ts';
import { bookingRoutes } from './bookings.ts';
import { healthRoutes } from './health.ts';
import { leadSummaryRoutes } from './lead-summary.ts';
import { documentResponses } from './responses.ts';

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
    await limitPerCaller(protectedScope, options.rateLimit, (request) => authOf(request).credentialId);
    await protectedScope.register(healthRoutes);
    await protectedScope.register(bookingRoutes);
    await protectedScope.register(availabilityRoutes);
    await protectedScope.register(leadSummaryRoutes);
  });
}
