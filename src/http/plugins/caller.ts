import type { FastifyRequest } from 'fastify';
import type { CommandCaller, CommandDeps } from '../../commands/context.ts';
import { authOf } from './authentication.ts';

/** The command caller of an authenticated request: its org, actor, and the request id as correlation. */
export function callerOf(request: FastifyRequest): CommandCaller {
  const auth = authOf(request);
  return { orgId: auth.orgId, actor: auth.actor, correlationId: request.id, ...(auth.orgSeen && { orgSeen: auth.orgSeen }) };
}

/** Command dependencies from the app's services. */
export function depsOf(request: FastifyRequest): CommandDeps {
  const { store, clock } = request.server.services;
  return { store, clock };
}
