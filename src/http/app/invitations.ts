import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProblemError, problems } from '../common/problem.ts';
import {
  acceptInvite,
  checkPassword,
  findOpenInvite,
  hashPassword,
  PASSWORD_MAX,
  countInviteAttempt,
  WeakPasswordError,
} from '../../identity/index.ts';
import { requireSameOrigin, type AppDoor } from './door.ts';

const inviteParams = z.object({ token: z.string().regex(/^csi_[A-Za-z0-9_-]{43}$/, 'not an invite token') });
const acceptBody = z.object({ password: z.string().min(1).max(PASSWORD_MAX) }).strict();

/** The invite link's two routes: what it is for, and accepting it with a new password. Anyone holding the link may call them. */
export const invitationRoutes: FastifyPluginAsyncZod<{ door: AppDoor }> = async (app, options) => {
  const { db, clock } = app.services;
  const { startSession, gated } = options.door;

  // The invite token is in these URLs, and request logs carry the URL: log these routes only from warn up.
  const quiet = { logLevel: 'warn' as const };

  app.get('/app/invitations/:token', { ...quiet, schema: { params: inviteParams, hide: true } }, async (request) => {
    const invite = await findOpenInvite(db, request.params.token, clock());
    if (!invite) throw problems.notFound('invite (used, expired or unknown)');
    return { email: invite.email, expiresAt: invite.expires_at.toISOString() };
  });

  app.post(
    '/app/invitations/:token',
    { ...quiet, schema: { params: inviteParams, body: acceptBody, hide: true } },
    async (request, reply) => {
      requireSameOrigin(request);
      try {
        checkPassword(request.body.password);
      } catch (error) {
        if (error instanceof WeakPasswordError) throw problems.validation([{ path: 'password', message: error.message }]);
        throw error;
      }
      const now = clock();
      const wait = await countInviteAttempt(db, request.ip, now);
      if (wait > 0)
        throw new ProblemError(429, 'too_many_attempts', 'Too many attempts', 'too many invite attempts from this address', {
          headers: { 'retry-after': String(wait) },
        });
      // Look the link up before any hashing: an unknown token costs one indexed read, not a scrypt.
      if (!(await findOpenInvite(db, request.params.token, now))) throw problems.notFound('invite (used, expired or unknown)');
      const hash = await gated(() => hashPassword(request.body.password));
      const accepted = await acceptInvite(db, request.params.token, hash, clock());
      if (!accepted) throw problems.notFound('invite (used, expired or unknown)');
      await startSession(request, reply, accepted);
      reply.code(201);
      return { signedIn: true, email: accepted.email };
    },
  );
};
