import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { MemberRole } from '../../../../domain/events/org.ts';
import { getOrg } from '../../../../queries/orgs.ts';
import {
  AlreadyMemberError,
  changeRoleEverywhere,
  endSessionsOf,
  inviteMember,
  LoginTakenError,
  removeMemberEverywhere,
  TargetRoleError,
} from '../../../../identity/index.ts';
import { callerOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf, setConsistencyToken } from '../../../common/consistency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { ProblemError, problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import { invitationBody, memberParams, memberRoleBody } from './schemas.ts';

/** Only an owner makes someone an owner (the domain enforces the same on role changes). */
function requireOwnerFor(role: MemberRole, byRole: string | null): void {
  if (role === 'owner' && byRole !== 'owner')
    throw new ProblemError(403, 'insufficient_role', 'Forbidden', 'only an owner makes someone an owner');
}

/** The org's members and their roles (owner, admin); role changes and invitations. */
export const memberRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.settings);

  app.get('/members', { preHandler: allowed }, async (request) => {
    await awaitConsistency(request, ['orgs']);
    const org = await getOrg(readsOf(request).db, authOf(request).orgId);
    if (!org) throw problems.notFound('org');
    return { data: org.members.map((m) => ({ memberId: m.memberId, email: m.email, role: m.role })) };
  });

  app.put(
    '/members/:memberId/role',
    { preHandler: allowed, schema: { params: memberParams, body: memberRoleBody } },
    async (request, reply) => {
      const auth = authOf(request);
      const { memberId } = request.params;
      const { org, position } = await changeRoleEverywhere(request.server.services, callerOf(request), {
        orgId: auth.orgId,
        memberId,
        role: request.body.role,
        byRole: auth.role as MemberRole,
      });
      setConsistencyToken(reply, position);
      const member = org.members.find((m) => m.memberId === memberId)!;
      return { memberId, email: member.email, role: member.role };
    },
  );

  app.delete('/members/:memberId', { preHandler: allowed, schema: { params: memberParams } }, async (request, reply) => {
    const auth = authOf(request);
    const { services } = request.server;
    const removed = await removeMemberEverywhere(services, callerOf(request), {
      orgId: auth.orgId,
      memberId: request.params.memberId,
      byRole: auth.role as MemberRole,
    });
    setConsistencyToken(reply, removed.position);
    return reply.code(204).send();
  });

  app.delete('/members/:memberId/sessions', { preHandler: allowed, schema: { params: memberParams } }, async (request) => {
    const auth = authOf(request);
    const ended = await endSessionsOf(request.server.services, {
      orgId: auth.orgId,
      memberId: request.params.memberId,
      byRole: auth.role as MemberRole,
    }).catch((error: unknown) => {
      if (error instanceof TargetRoleError) throw new ProblemError(403, 'insufficient_role', 'Forbidden', error.message);
      throw error;
    });
    if (ended === undefined) throw problems.notFound('member');
    return { ended };
  });

  app.post('/members/invitations', { preHandler: allowed, schema: { body: invitationBody } }, async (request, reply) => {
    const auth = authOf(request);
    requireOwnerFor(request.body.role, auth.role);
    const { services } = request.server;
    const invited = await inviteMember(services, callerOf(request), {
      orgId: auth.orgId,
      email: request.body.email,
      role: request.body.role,
      byRole: auth.role as MemberRole,
    }).catch((error: unknown) => {
      if (error instanceof LoginTakenError) throw new ProblemError(409, 'login_taken', 'Conflict', 'that email is taken');
      if (error instanceof AlreadyMemberError) throw new ProblemError(409, 'already_member', 'Conflict', error.message);
      if (error instanceof TargetRoleError) throw new ProblemError(403, 'insufficient_role', 'Forbidden', error.message);
      throw error;
    });
    setConsistencyToken(reply, invited.position);
    return reply.code(201).send({
      memberId: invited.memberId,
      email: request.body.email,
      role: invited.role,
      url: invited.url,
      expiresAt: invited.expiresAt.toISOString(),
    });
  });
};
