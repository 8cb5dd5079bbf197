import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../domain/values.ts';
import { hashToken, isWellFormedToken, type TokenKind } from '../../commands/tokens.ts';
import { findCredentialByHash, touchCredential } from '../../queries/credentials.ts';
import { ProblemError } from '../problem.ts';

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
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook of protected route groups. */
    auth?: AuthContext;
  }
}

const REALM = 'Bearer realm="callsnare"';

/** A well-formed token of the other kind: say which kind this API takes and where that token works. */
const WRONG_KIND: Record<TokenKind, string> = {
  integration: 'this API takes an integration token (cs_live_..., from `callsnare token create`); a member token (cs_member_...) works on the internal API /api/internal/v1',
  member: 'this API takes a member token (cs_member_..., from `callsnare member create`); an integration token (cs_live_...) works on the protected API /api/private/v1',
};

function unauthorized(detail: string, invalidToken: boolean): ProblemError {
  return new ProblemError(401, invalidToken ? 'invalid_token' : 'unauthorized', 'Unauthorized', detail, {
    headers: { 'www-authenticate': invalidToken ? `${REALM}, error="invalid_token"` : REALM },
  });
}

/**
 * An onRequest hook authenticating `Authorization: Bearer <token>` of the given kind against the
 * credentials read model (no cache: a revocation holds from the next request on).
 */
export function authenticate(kind: TokenKind) {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
    if (!match) throw unauthorized('send Authorization: Bearer <token>', false);
    const token = match[1]!;
    if (!isWellFormedToken(token, kind)) {
      const other = (['integration', 'member'] as const).find((k) => k !== kind && isWellFormedToken(token, k));
      throw unauthorized(other ? WRONG_KIND[kind] : 'the token is not valid', true);
    }
    const db = request.server.services.db;
    const credential = await findCredentialByHash(db, hashToken(token));
    const now = request.server.services.clock();
    if (!credential || credential.kind !== kind) throw unauthorized('the token is not valid', true);
    if (credential.revokedAt) throw unauthorized('the token was revoked', true);
    if (credential.expiresAt && credential.expiresAt <= now) throw unauthorized('the token expired', true);
    const actor: Actor = { type: kind === 'integration' ? 'integration' : 'team_member', id: credential.memberId ?? credential.id, label: credential.label };
    request.auth = {
      credentialId: credential.id,
      label: credential.label,
      orgId: credential.orgId,
      kind,
      scopes: credential.scopes,
      role: credential.role,
      memberId: credential.memberId,
      actor,
    };
    request.log = request.log.child({ orgId: credential.orgId, actor: { type: actor.type, id: actor.id } });
    if (!credential.lastUsedAt || now.getTime() - credential.lastUsedAt.getTime() > 60_000) {
      touchCredential(db, credential.id, now).catch((err) => request.log.warn({ err }, 'could not record token use'));
    }
  };
}

/** A preHandler requiring a scope (403 `insufficient_scope` naming it). */
export function requireScope(scope: string) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    if (!request.auth?.scopes.includes(scope)) {
      throw new ProblemError(403, 'insufficient_scope', 'Forbidden', `this token lacks the ${scope} scope`, {
        headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
      });
    }
  };
}

/** The authenticated context; throws if a route forgot its auth hook. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new Error('route is missing its auth hook');
  return request.auth;
}
