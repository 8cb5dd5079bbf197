// Authorization: what an authenticated caller may do — integration tokens by scope, members by role.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MemberRole } from '../../domain/events/org.ts';
import { authOf, REALM } from './authentication.ts';
import { ProblemError } from '../common/problem.ts';

/** Who may do what on the internal API: owner > admin > member; auditor reads only the audit timeline. */
export const ROLES = {
  leads: ['owner', 'admin', 'member'],
  audit: ['owner', 'admin', 'auditor'],
  settings: ['owner', 'admin'],
} as const satisfies Record<string, readonly MemberRole[]>;

/** A preHandler admitting only member tokens of the given roles (403 `insufficient_role` otherwise). */
export function requireRole(allowed: readonly MemberRole[]) {
  return async (request: FastifyRequest) => {
    const role = authOf(request).role;
    if (!role || !(allowed as readonly string[]).includes(role)) {
      throw new ProblemError(
        403,
        'insufficient_role',
        'Forbidden',
        `this action needs the role ${allowed.join(', ')}; this token's role is ${role ?? 'none'}`,
      );
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
