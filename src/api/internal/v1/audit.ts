import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listAuditEvents } from '../../../queries/audit.ts';
import { authOf } from '../../plugins/auth.ts';
import { ACTIONS, ROLES, requireRole } from './roles.ts';
import { auditQuery } from './schemas.ts';

/** The org's event timeline, read from the event store in commit order (owner, admin, auditor). */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/audit/events', { preHandler: requireRole(ROLES.audit), config: { action: ACTIONS.readAuditEvents }, schema: { querystring: auditQuery } }, async (request) => {
    const q = request.query;
    return listAuditEvents(request.server.services.store, authOf(request).orgId, {
      limit: q.limit,
      ...(q.stream && { stream: q.stream }),
      ...(q.since && { since: q.since }),
      ...(q.until && { until: q.until }),
      ...(q.cursor && { cursor: q.cursor }),
    });
  });
};
