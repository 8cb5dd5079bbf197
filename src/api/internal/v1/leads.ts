import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { changeLeadStatus } from '../../../commands/leads.ts';
import type { LeadStatus } from '../../../domain/events/lead.ts';
import { toLeadView } from '../../../domain/lead.ts';
import { getLeadDetail, listLeads } from '../../../queries/leads.ts';
import { callerOf, depsOf } from '../../caller.ts';
import { awaitConsistency, setConsistencyToken } from '../../consistency.ts';
import { authOf } from '../../plugins/auth.ts';
import { problems } from '../../problem.ts';
import { ACTIONS, ROLES, requireRole } from './roles.ts';
import { changeLeadStatusBody, leadParams, listLeadsQuery } from './schemas.ts';

const READ_MODELS = ['leads', 'lead_timeline'];

/** Leads: list, detail with timeline, status moves (owner, admin, member). */
export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.leads);

  app.get('/leads', { preHandler: allowed, config: { action: ACTIONS.readLeads }, schema: { querystring: listLeadsQuery } }, async (request) => {
    await awaitConsistency(request, READ_MODELS);
    const q = request.query;
    return listLeads(request.server.services.db, authOf(request).orgId, {
      limit: q.limit,
      ...(q.status && { statuses: q.status.split(',') as LeadStatus[] }),
      ...(q.cursor && { cursor: q.cursor }),
    });
  });

  app.get('/leads/:leadId', { preHandler: allowed, config: { action: ACTIONS.readLeads }, schema: { params: leadParams } }, async (request) => {
    await awaitConsistency(request, READ_MODELS);
    const lead = await getLeadDetail(request.server.services.db, authOf(request).orgId, request.params.leadId);
    if (!lead) throw problems.notFound('lead');
    return lead;
  });

  app.post('/leads/:leadId/status', { preHandler: allowed, config: { action: ACTIONS.moveLeadStatus }, schema: { params: leadParams, body: changeLeadStatusBody } }, async (request, reply) => {
    const { status, reason } = request.body;
    const outcome = await changeLeadStatus(depsOf(request), callerOf(request), request.params.leadId, { to: status, ...(reason !== undefined && { reason }) });
    setConsistencyToken(reply, outcome.position);
    return toLeadView(outcome.lead);
  });
};
