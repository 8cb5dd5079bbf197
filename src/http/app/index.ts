import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RateLimitOptions } from '../plugins/rate-limit.ts';
import { appDoor } from './door.ts';
import { invitationRoutes } from './invitations.ts';
import { pageRoutes } from './page.ts';
import { sessionRoutes } from './session.ts';

export { liveEventsRoute } from './events.ts';

/** The team web app's HTTP door: sign-in and sessions, invites, and the page shell with its bundle (CONTRACT §7). */
export const webApp: FastifyPluginAsyncZod<{ rateLimit: RateLimitOptions }> = async (app, options) => {
  const door = appDoor(app.services);
  await app.register(sessionRoutes, { rateLimit: options.rateLimit, door });
  await app.register(invitationRoutes, { door });
  await app.register(pageRoutes);
};
