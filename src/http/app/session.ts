import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, authOf } from '../plugins/authentication.ts';
import { limitPerCaller, memberKey, type RateLimitOptions } from '../plugins/rate-limit.ts';
import { ProblemError, problems } from '../common/problem.ts';
import { getOrg } from '../../queries/orgs.ts';
import { memberRole } from '../../domain/events/org.ts';
import type { SessionView } from '../api/internal/v1/types.ts';
import {
  decoyHash,
  findLoginByEmail,
  hashPassword,
  PASSWORD_MAX,
  revokeMemberSessions,
  needsRehash,
  rehashLogin,
  revokeSession,
  revokeSessionByCookie,
  addressKey,
  countAttempt,
  countHits,
  logMailer,
  normalEmail,
  requestPasswordReset,
  WINDOW_MS,
  signInSucceeded,
  verifyPassword,
} from '../../identity/index.ts';
import { requireSameOrigin, type AppDoor } from './door.ts';

const signInBody = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(PASSWORD_MAX) }).strict();
const resetBody = z.object({ email: z.string().trim().min(1).max(320) }).strict();
/** Reset requests one address may make, and reset emails one person may get, per 15-minute window. */
export const RESET_ADDRESS_LIMIT = 10;
export const RESETS_PER_ACCOUNT = 3;

/** The signed-in person as the app shows them (with the CSRF token the app must echo). */
async function sessionView(request: FastifyRequest): Promise<SessionView> {
  const auth = authOf(request);
  // authenticate('member') admits only members: a member id and a role are always there.
  if (!auth.memberId || !auth.role) throw new Error('a member session without a member');
  const org = await getOrg(request.server.services.db, auth.orgId);
  return {
    memberId: auth.memberId,
    email: auth.label,
    role: memberRole.parse(auth.role),
    orgId: auth.orgId,
    orgName: org?.name ?? '',
    timezone: org?.timezone ?? 'UTC',
    csrfToken: auth.session?.csrfToken ?? null,
    expiresAt: auth.session?.expiresAt.toISOString() ?? null,
  };
}

/** Sign-in, the signed-in session, sign-out and "forgot your password?" (CONTRACT §7). */
export const sessionRoutes: FastifyPluginAsyncZod<{ rateLimit: RateLimitOptions; door: AppDoor }> = async (app, options) => {
  const { db, clock, log } = app.services;
  const { cookieName, secure, startSession, gated, endCookie } = options.door;

  app.post('/app/session', { schema: { body: signInBody, hide: true } }, async (request, reply) => {
    requireSameOrigin(request);
    const { email, password } = request.body;
    const now = clock();
    // Counted before the password is checked, in one statement: parallel guesses cannot pass the limit together.
    const wait = await countAttempt(db, email, request.ip, now);
    if (wait > 0) {
      throw new ProblemError(
        429,
        'sign_in_throttled',
        'Too many attempts',
        `too many failed sign-ins; try again in ${Math.ceil(wait / 60)} minute(s)`,
        {
          headers: { 'retry-after': String(wait) },
        },
      );
    }
    const login = await findLoginByEmail(db, email);
    const decoy = login?.passwordHash ? undefined : await decoyHash();
    const ok = await gated(() => verifyPassword(password, login?.passwordHash ?? decoy!));
    if (!login?.passwordHash || !ok) {
      request.log.info({ event: 'sign_in_failed' }, 'sign-in failed');
      throw new ProblemError(401, 'invalid_credentials', 'Unauthorized', 'wrong email or password');
    }
    await signInSucceeded(db, email, request.ip);
    if (needsRehash(login.passwordHash)) {
      // Raised scrypt parameters reach old hashes here, the only moment the password is known.
      const stronger = await gated(() => hashPassword(password)).catch(() => undefined);
      if (stronger) await rehashLogin(db, login.memberId, login.passwordHash, stronger);
    }
    // The browser's previous session (another person's, or its own older one) ends with this sign-in.
    const previous = request.cookies[cookieName];
    if (previous) await revokeSessionByCookie(db, previous, now);
    await startSession(request, reply, login);
    request.log.info({ event: 'signed_in', orgId: login.orgId, actor: { type: 'team_member', id: login.memberId } }, 'signed in');
    reply.code(201);
    return { signedIn: true };
  });

  app.register(async (sessionRoutes) => {
    sessionRoutes.addHook('onRequest', authenticate('member'));
    await limitPerCaller(sessionRoutes, options.rateLimit, memberKey);
    sessionRoutes.get('/app/session', { schema: { hide: true } }, async (request) => sessionView(request));
    sessionRoutes.delete('/app/session', { schema: { hide: true } }, async (request, reply) => {
      const session = authOf(request).session;
      if (!session) throw problems.validation([{ path: 'cookie', message: 'sign-out needs a web session, not a token' }]);
      await revokeSession(db, session.idHash, clock());
      endCookie(reply);
      return reply.code(204).send();
    });
    sessionRoutes.delete('/app/sessions', { schema: { hide: true } }, async (request, reply) => {
      const auth = authOf(request);
      if (!auth.session || !auth.memberId)
        throw problems.validation([{ path: 'cookie', message: 'sign-out needs a web session, not a token' }]);
      const ended = await revokeMemberSessions(db, auth.memberId, clock());
      endCookie(reply);
      return { ended };
    });
  });

  // "Forgot your password?" (anyone, no session): the link goes to the person's own email through the
  // mail port, never to the caller, and the answer is the same whether the email is a member or not.
  const mailer = logMailer(log, { reveal: !secure });
  app.post('/app/password-resets', { schema: { body: resetBody, hide: true } }, async (request, reply) => {
    requireSameOrigin(request);
    const now = clock();
    const wait = await countHits(db, [{ key: `reset:${addressKey(request.ip)}`, limit: RESET_ADDRESS_LIMIT }], WINDOW_MS, now);
    if (wait > 0)
      throw new ProblemError(429, 'too_many_attempts', 'Too many attempts', 'too many password reset requests from this address', {
        headers: { 'retry-after': String(wait) },
      });
    const email = normalEmail(request.body.email);
    // A flood of requests for one person sends them a few emails, not hundreds (and the caller cannot tell).
    const quota = await countHits(db, [{ key: `reset:account:${email}`, limit: RESETS_PER_ACCOUNT }], WINDOW_MS, now);
    // After the answer: how long the lookup and sending take must not tell whether the email is a member.
    if (quota === 0)
      setImmediate(() => {
        requestPasswordReset(app.services, mailer, email).catch((error: unknown) => log.error({ err: error }, 'password reset failed'));
      });
    reply.code(202);
    return {
      accepted: true,
      detail: 'if this email signs in here, a link to choose a new password is on its way (it works once, for 1 hour)',
    };
  });
};
