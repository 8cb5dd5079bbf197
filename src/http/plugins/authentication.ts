// Authentication: a Bearer token (integration or member) or a web session cookie becomes one AuthContext.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { OrgSeen } from '../../commands/context.ts';
import type { Actor } from '../../domain/values.ts';
import {
  AuthFailureLimiter,
  findCredentialByHash,
  findLoginById,
  findSession,
  hashToken,
  isWellFormedToken,
  sessionCookieName,
  touchCredential,
  type TokenKind,
  type WebSession,
} from '../../identity/index.ts';
import { getOrg } from '../../queries/orgs.ts';
import type { Services } from '../../services.ts';
import { ProblemError } from '../common/problem.ts';

/** Who a request acts as, once its token checked out. */
export interface AuthContext {
  readonly credentialId: string;
  readonly label: string;
  readonly orgId: string;
  readonly kind: TokenKind;
  readonly scopes: readonly string[];
  readonly role: string | null;
  readonly memberId: string | null;
  readonly actor: Actor;
  /** Set when a person's web session (cookie) authenticated the request rather than a token. */
  readonly session?: WebSession;
  /** The org stream's head read with the credential (PostgreSQL store only): see `CommandCaller.orgSeen`. */
  readonly orgSeen?: OrgSeen;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook of protected route groups. */
    auth?: AuthContext;
  }
}

/** The `WWW-Authenticate` challenge's scheme and realm. */
export const REALM = 'Bearer realm="callsnare"';

/** A well-formed token of the other kind: say which kind this API takes and where that token works. */
const WRONG_KIND: Record<TokenKind, string> = {
  integration:
    'this API takes an integration token (cs_live_..., from `callsnare token create`); a member token (cs_member_...) works on the internal API /api/internal/v1',
  member:
    'this API takes a member token (cs_member_..., from `callsnare member create`); an integration token (cs_live_...) works on the protected API /api/private/v1',
};

function unauthorized(detail: string, invalidToken: boolean): ProblemError {
  return new ProblemError(401, invalidToken ? 'invalid_token' : 'unauthorized', 'Unauthorized', detail, {
    headers: { 'www-authenticate': invalidToken ? `${REALM}, error="invalid_token"` : REALM },
  });
}

/**
 * Names the org and actor on the request's logger, in place: it is the child fastify made for this
 * request (the app's logger is pino), so every later line of the request, its completion line
 * included, carries them without a second child logger per request.
 */
function bindCaller(request: FastifyRequest, orgId: string, actor: Actor): void {
  (request.log as FastifyBaseLogger & Pick<Logger, 'setBindings'>).setBindings({ orgId, actor: { type: actor.type, id: actor.id } });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The header carrying a web session's CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Authenticates a person's session cookie: the session must be live and the member still in the org
 * (their role is read now, so a role change holds at once). A state-changing request must also send the
 * session's CSRF token in `X-CSRF-Token` (403 `csrf_failed` otherwise, before any handler runs).
 */
async function authenticateSession(request: FastifyRequest, sessionId: string): Promise<void> {
  const { db, clock } = request.server.services;
  const session = await findSession(db, sessionId, clock());
  if (!session) throw new ProblemError(401, 'session_expired', 'Unauthorized', 'sign in again: the session ended or expired');
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameSecret(sent, session.csrfToken)) {
      throw new ProblemError(403, 'csrf_failed', 'Forbidden', `send the session's CSRF token in the ${CSRF_HEADER} header`);
    }
  }
  const [org, login] = await Promise.all([getOrg(db, session.orgId), findLoginById(db, session.memberId)]);
  const member = org?.members.find((m) => m.memberId === session.memberId);
  if (!member || !login)
    throw new ProblemError(401, 'session_expired', 'Unauthorized', 'sign in again: this member is no longer in the org');
  const actor: Actor = { type: 'team_member', id: member.memberId, label: member.email };
  request.auth = {
    credentialId: `session:${session.idHash.slice(0, 12)}`,
    label: member.email,
    orgId: session.orgId,
    kind: 'member',
    scopes: [],
    role: member.role,
    memberId: member.memberId,
    actor,
    session,
  };
  bindCaller(request, session.orgId, actor);
}

/**
 * An onRequest hook authenticating `Authorization: Bearer <token>` of the given kind against the
 * credentials read model, read on every request (no cache: a revocation holds from the next request on,
 * in every process). For `member`, a
 * request without an Authorization header may instead carry a person's session cookie (CONTRACT §7).
 */
/** One failure limiter per process (per set of services: what one `serve` holds). */
const limiters = new WeakMap<Services, AuthFailureLimiter>();
const limiterOf = (services: Services) => {
  let limiter = limiters.get(services);
  if (!limiter) limiters.set(services, (limiter = new AuthFailureLimiter()));
  return limiter;
};

export function authenticate(kind: TokenKind) {
  const checked = authenticateToken(kind);
  return async (request: FastifyRequest) => {
    if (request.headers.authorization === undefined) return checked(request);
    const limiter = limiterOf(request.server.services);
    const wait = limiter.retryAfter(request.ip, Date.now());
    if (wait > 0)
      throw new ProblemError(
        429,
        'too_many_failed_authentications',
        'Too many failed authentications',
        'too many wrong tokens from this address',
        {
          headers: { 'retry-after': String(wait) },
        },
      );
    try {
      await checked(request);
    } catch (error) {
      if (error instanceof ProblemError && error.status === 401) limiter.fail(request.ip, Date.now());
      throw error;
    }
  };
}

function authenticateToken(kind: TokenKind) {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const sessionId =
      kind === 'member' && header === undefined
        ? request.cookies[sessionCookieName(request.server.services.config.PUBLIC_BASE_URL?.startsWith('https:') ?? false)]
        : undefined;
    if (sessionId) return authenticateSession(request, sessionId);
    const match = typeof header === 'string' ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
    if (!match) throw unauthorized('send Authorization: Bearer <token>', false);
    const token = match[1]!;
    if (!isWellFormedToken(token, kind)) {
      const other = (['integration', 'member'] as const).find((k) => k !== kind && isWellFormedToken(token, k));
      throw unauthorized(other ? WRONG_KIND[kind] : 'the token is not valid', true);
    }
    const credential = await findCredentialByHash(request.server.services.pool, hashToken(token));
    const now = request.server.services.clock();
    if (!credential || credential.kind !== kind) throw unauthorized('the token is not valid', true);
    if (credential.revokedAt) throw unauthorized('the token was revoked', true);
    if (credential.expiresAt && credential.expiresAt <= now) throw unauthorized('the token expired', true);
    const actor: Actor = {
      type: kind === 'integration' ? 'integration' : 'team_member',
      id: credential.memberId ?? credential.id,
      label: credential.label,
    };
    // es_streams is the PostgreSQL store's own table; with another store it may hold stale rows.
    const orgSeen =
      credential.orgHead !== null && request.server.services.store.kind === 'postgres'
        ? { orgId: credential.orgId, lastHash: credential.orgHead }
        : undefined;
    request.auth = {
      credentialId: credential.id,
      label: credential.label,
      orgId: credential.orgId,
      kind,
      scopes: credential.scopes,
      role: credential.role,
      memberId: credential.memberId,
      actor,
      ...(orgSeen && { orgSeen }),
    };
    bindCaller(request, credential.orgId, actor);
    if (!credential.lastUsedAt || now.getTime() - credential.lastUsedAt.getTime() > 60_000) {
      touchCredential(request.server.services.db, credential.id, now).catch((err: unknown) =>
        request.log.warn({ err }, 'could not record token use'),
      );
    }
  };
}

/** The authenticated context; throws if a route forgot its auth hook. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new Error('route is missing its auth hook');
  return request.auth;
}
