import type { FastifyInstance } from 'fastify';
import { authenticate } from '../../plugins/auth.ts';
import { limitPerCaller, memberKey, type RateLimitOptions } from '../../plugins/rate-limit.ts';
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
  await app.register(leadRoutes);
  await app.register(teamBookingRoutes);
  await app.register(auditRoutes);
  await app.register(settingsRoutes);
  await app.register(memberRoutes);
  await app.register(tokenRoutes);
  await app.register(webhookRoutes);
}
