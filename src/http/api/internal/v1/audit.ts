import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { parsePosition } from '../../../../eventstore/position.ts';
import { listAuditEvents, streamStateAsOf } from '../../../../queries/audit.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import { problems } from '../../../common/problem.ts';
import { auditQuery, auditStateQuery } from './schemas.ts';

/** The org's event timeline, read from the event store in commit order (owner, admin, auditor). */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/audit/events', { preHandler: requireRole(ROLES.audit), schema: { querystring: auditQuery } }, async (request) => {
    const q = request.query;
    return listAuditEvents(request.server.services.store, authOf(request).orgId, {
      limit: q.limit,
      ...(q.stream && { stream: q.stream }),
      ...(q.type && { type: q.type }),
      ...(q.actor && { actor: q.actor }),
      ...(q.since && { since: q.since }),
      ...(q.until && { until: q.until }),
      ...(q.cursor && { cursor: q.cursor }),
    });
  });

  app.get('/audit/state', { preHandler: requireRole(ROLES.audit), schema: { querystring: auditStateQuery } }, async (request) => {
    const { stream, asOf } = request.query;
    const position = parsePosition(asOf);
    const at = position ? { position } : { time: new Date(Date.parse(asOf)) };
    const state = await streamStateAsOf(request.server.services.store, stream, at, authOf(request).orgId);
    if (!state) throw problems.notFound('stream');
    return { ...state, asOf };
  });
};
