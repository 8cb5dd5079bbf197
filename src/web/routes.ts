import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, authOf } from '../api/plugins/auth.ts';
import { limitPerCaller, memberKey, type RateLimitOptions } from '../api/plugins/rate-limit.ts';
import { ProblemError, problems } from '../api/problem.ts';
import { getOrg } from '../queries/orgs.ts';
import { ensureWebBuild, type WebBuild } from './assets.ts';
import {
  acceptInvite,
  checkPassword,
  createSession,
  decoyHash,
  findLoginByEmail,
  findOpenInvite,
  hashPassword,
  PASSWORD_MAX,
  revokeMemberSessions,
  needsRehash,
  rehashLogin,
  revokeSession,
  revokeSessionByCookie,
  SESSION_ABSOLUTE_MS,
  sessionCookieName,
  addressKey,
  countAttempt,
  countHits,
  countInviteAttempt,
  logMailer,
  normalEmail,
  requestPasswordReset,
  WINDOW_MS,
  HashGate,
  HashingBusyError,
  signInSucceeded,
  verifyPassword,
  WeakPasswordError,
} from '../identity/index.ts';

const signInBody = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(PASSWORD_MAX) }).strict();
const inviteParams = z.object({ token: z.string().regex(/^csi_[A-Za-z0-9_-]{43}$/, 'not an invite token') });
const resetBody = z.object({ email: z.string().trim().min(1).max(320) }).strict();
/** Reset requests one address may make, and reset emails one person may get, per 15-minute window. */
export const RESET_ADDRESS_LIMIT = 10;
export const RESETS_PER_ACCOUNT = 3;
const acceptBody = z.object({ password: z.string().min(1).max(PASSWORD_MAX) }).strict();
const assetParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]+$/) });

// The page shell only loads our own bundle; nothing inline, no other origin, never framed.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Sign-in requests carry no session yet, so no CSRF token: they must be JSON (a cross-site form cannot
 * send that without a CORS preflight we never grant) and, when the browser says where it comes from,
 * come from our own origin.
 */
function requireSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host;
  let ok = false;
  try {
    ok = new URL(origin).host === host;
  } catch {
    ok = false;
  }
  if (!ok) throw new ProblemError(403, 'cross_origin', 'Forbidden', 'sign-in is accepted only from the app itself');
}

/** The signed-in person as the app shows them (with the CSRF token the app must echo). */
async function sessionView(request: FastifyRequest) {
  const auth = authOf(request);
  const org = await getOrg(request.server.services.db, auth.orgId);
  return {
    memberId: auth.memberId,
    email: auth.label,
    role: auth.role,
    orgId: auth.orgId,
    orgName: org?.name ?? '',
    timezone: org?.timezone ?? 'UTC',
    csrfToken: auth.session?.csrfToken ?? null,
    expiresAt: auth.session?.expiresAt.toISOString() ?? null,
  };
}

/** The team web app: sign-in, sessions, invites, and the page shell with its bundle (CONTRACT §7). */
export const webApp: FastifyPluginAsyncZod<{ rateLimit: RateLimitOptions }> = async (app, options) => {
  const { config, db, clock, log } = app.services;
  const secure = config.PUBLIC_BASE_URL?.startsWith('https:') ?? false;
  const cookieName = sessionCookieName(secure);
  let building: Promise<WebBuild> | undefined;
  const currentBuild = () => {
    building ??= ensureWebBuild().catch((error: unknown) => {
      building = undefined;
      throw error;
    });
    return building;
  };

  async function startSession(request: FastifyRequest, reply: FastifyReply, member: { memberId: string; orgId: string }) {
    const session = await createSession(
      db,
      { ...member, ip: request.ip, ...(request.headers['user-agent'] && { userAgent: request.headers['user-agent'] }) },
      clock(),
    );
    reply.setCookie(cookieName, session.id, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: SESSION_ABSOLUTE_MS / 1000 });
    return session;
  }
  // One gate per process: a flood of password checks is refused with 503 instead of exhausting memory/CPU.
  const hashing = new HashGate(config.PASSWORD_HASH_CONCURRENCY);
  const gated = <T>(work: () => Promise<T>): Promise<T> =>
    hashing.run(work).catch((error: unknown) => {
      if (error instanceof HashingBusyError) throw problems.unavailable('too many password checks at once; try again in a second');
      throw error;
    });
  const endCookie = (reply: FastifyReply) => reply.clearCookie(cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure });

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

  app.get('/app/assets/:name', { schema: { params: assetParams, hide: true } }, async (request, reply) => {
    const build = await currentBuild();
    const type = build.files.get(request.params.name);
    if (!type) throw problems.notFound('asset');
    const body = await readFile(path.join(build.dir, request.params.name));
    return reply.header('content-type', type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });

  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    const build = await currentBuild();
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CallSnare</title>
<link rel="stylesheet" href="/app/assets/${build.stylesheet}">
<script type="module" src="/app/assets/${build.script}"></script>
</head>
<body><div id="root"></div></body>
</html>
`;
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin')
      .send(html);
  };
  app.get('/app', { schema: { hide: true } }, page);
  app.get('/app/*', { schema: { hide: true } }, page);
  app.get('/app/invite/:token', { ...quiet, schema: { hide: true } }, page);

  app.addHook('onReady', async () => {
    currentBuild().catch((error: unknown) => log.error({ err: error }, 'web app build failed'));
  });
};
