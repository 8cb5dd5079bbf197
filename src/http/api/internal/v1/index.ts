import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { authenticate } from '../../../plugins/authentication.ts';
import { limitPerCaller, memberKey, type RateLimitOptions } from '../../../plugins/rate-limit.ts';
import { auditRoutes } from './audit.ts';
import { teamBookingRoutes } from './bookings.ts';
import { memberRoutes } from './members.ts';
import { tokenRoutes } from './tokens.ts';
import { leadRoutes } from './leads.ts';
import { settingsRoutes } from './settings.ts';
import { webhookRoutes } from './webhooks.ts';

/**
 * The internal API for team members (`cs_member_...` tokens or a web session; roles checked per route),
 * limited per member after authentication (issue 21 item 6).
 */
export async function internalApiV1(app: FastifyInstance, options: { rateLimit: RateLimitOptions }): Promise<void> {
  app.addHook('onRequest', authenticate('member'));
  await limitPerCaller(app, options.rateLimit, memberKey);
  // The web app's plumbing endpoints (inbox, settings, members, tokens, audit, ...): described by their own
  // OpenAPI document, generated from the zod schemas that validate them; the action catalog lists only the
  // action model's internal actions (src/http/discovery/catalog.ts).
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'CallSnare internal API',
        version: '1.0.0',
        description:
          "The team web app's endpoints, for team members: member tokens (cs_member_...) or the web app's session (with X-CSRF-Token on writes). Roles: owner > admin > member; auditor reads the audit timeline. Not a public contract: integrations use the protected API (/api/private/v1).",
      },
      servers: [{ url: '/api/internal/v1' }],
      components: { securitySchemes: { memberToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ memberToken: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(leadRoutes);
  await app.register(teamBookingRoutes);
  await app.register(auditRoutes);
  await app.register(settingsRoutes);
  await app.register(memberRoutes);
  await app.register(tokenRoutes);
  await app.register(webhookRoutes);
}
