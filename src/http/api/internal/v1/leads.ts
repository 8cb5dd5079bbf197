import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { changeConsent, loadConsent } from '../../../../commands/consent.ts';
import { assignLead, changeLeadStatus, loadLead, logCallBack, requestOutboundText } from '../../../../commands/leads.ts';
import { consentView } from '../../../../domain/consent.ts';
import type { LeadStatus } from '../../../../domain/events/lead.ts';
import { requestedMessageId } from '../../../../domain/ids.ts';
import { toLeadView } from '../../../../domain/lead.ts';
import { countHits } from '../../../../identity/index.ts';
import { getInboxLead, listLeads, markLeadRead } from '../../../../queries/leads.ts';
import { getOrg } from '../../../../queries/orgs.ts';
import { callerOf, depsOf } from '../../../plugins/caller.ts';
import { awaitConsistency, readsOf, setConsistencyToken } from '../../../common/consistency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { ProblemError, problems } from '../../../common/problem.ts';
import { ROLES, requireRole } from '../../../plugins/authorization.ts';
import {
  assignLeadBody,
  callLogBody,
  changeLeadStatusBody,
  leadParams,
  listLeadsQuery,
  recordConsentBody,
  sendMessageBody,
} from './schemas.ts';

const READ_MODELS = ['leads', 'lead_timeline', 'bookings', 'contact_consent'];

/**
 * Texts a member may send (issue 21 item 16): at most {@link TEXTS_PER_LEAD} to one caller and
 * {@link TEXTS_PER_MEMBER} by one person in {@link TEXT_WINDOW_MS}, counted in PostgreSQL (every process
 * shares the count). A repeat of an already requested message (same `clientMessageId`) is not counted.
 */
export const TEXTS_PER_LEAD = 10;
export const TEXTS_PER_MEMBER = 60;
export const TEXT_WINDOW_MS = 10 * 60_000;

/** Whose read markers a request uses: the member (token or session), else the credential. */
const readerOf = (request: FastifyRequest) => authOf(request).memberId ?? authOf(request).actor.id;

/** Leads: list, detail with timeline, status moves (owner, admin, member). */
export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  const allowed = requireRole(ROLES.leads);

  app.get('/leads', { preHandler: allowed, schema: { querystring: listLeadsQuery } }, async (request) => {
    await awaitConsistency(request, READ_MODELS);
    const q = request.query;
    const statuses = q.status?.split(',') ?? [];
    const me = authOf(request).memberId;
    if (q.assignee === 'me' && !me)
      throw problems.validation(
        [{ path: 'querystring.assignee', message: 'this credential is not a member' }],
        'assignee=me needs a member',
      );
    return listLeads(readsOf(request).db, authOf(request).orgId, {
      ...(q.assignee && { assignee: q.assignee === 'me' ? me! : q.assignee }),
      limit: q.limit,
      order: q.order,
      memberId: readerOf(request),
      ...(statuses.length && !statuses.includes('all') && { statuses: statuses as LeadStatus[] }),
      ...(q.q && { q: q.q }),
      ...(q.cursor && { cursor: q.cursor }),
    });
  });

  app.get('/leads/:leadId', { preHandler: allowed, schema: { params: leadParams } }, async (request) => {
    await awaitConsistency(request, READ_MODELS);
    const { clock } = request.server.services;
    const lead = await getInboxLead(readsOf(request).db, authOf(request).orgId, request.params.leadId, {
      memberId: readerOf(request),
      now: clock().toISOString(),
    });
    if (!lead) throw problems.notFound('lead');
    return lead;
  });

  app.post('/leads/:leadId/read', { preHandler: allowed, schema: { params: leadParams } }, async (request, reply) => {
    if (!(await markLeadRead(request.server.services.db, authOf(request).orgId, request.params.leadId, readerOf(request))))
      throw problems.notFound('lead');
    return reply.code(204).send();
  });

  app.post(
    '/leads/:leadId/messages',
    { preHandler: allowed, schema: { params: leadParams, body: sendMessageBody } },
    async (request, reply) => {
      const { leadId } = request.params;
      const deps = depsOf(request);
      const { orgId } = authOf(request);
      // The one question, asked before anything is recorded; the send job asks again at send time.
      const lead = await loadLead(deps, orgId, leadId);
      const consent = await loadConsent(deps, orgId, lead.callerPhone);
      if (consent?.status === 'opted_out') {
        throw new ProblemError(
          409,
          'recipient_opted_out',
          'Recipient opted out',
          `${lead.callerPhone} opted out of texts (${consent.source}) at ${consent.since}: nothing was sent; call them instead`,
        );
      }
      const { memberId, credentialId, actor } = authOf(request);
      if (!lead.requested?.[requestedMessageId(orgId, leadId, request.body.clientMessageId)]) {
        const wait = await countHits(
          request.server.services.db,
          [
            { key: `text:lead:${leadId}`, limit: TEXTS_PER_LEAD },
            { key: `text:member:${memberId ?? credentialId}`, limit: TEXTS_PER_MEMBER },
          ],
          TEXT_WINDOW_MS,
          deps.clock(),
        );
        if (wait > 0)
          throw new ProblemError(
            429,
            'text_rate_limited',
            'Too many texts',
            `at most ${TEXTS_PER_LEAD} texts to one caller and ${TEXTS_PER_MEMBER} per person every ${TEXT_WINDOW_MS / 60_000} minutes; nothing was sent, try again in ${wait} s`,
            { headers: { 'retry-after': String(wait) } },
          );
      }
      // A member's reply makes an unassigned lead theirs (CONTRACT §10).
      const outcome = await requestOutboundText(depsOf(request), callerOf(request), leadId, {
        ...request.body,
        ...(memberId && { replier: { memberId, label: actor.label } }),
      });
      setConsistencyToken(reply, outcome.position);
      const { messageId, ...message } = outcome.message;
      return reply.code(202).send({ id: messageId, leadId, ...message });
    },
  );

  app.post(
    '/leads/:leadId/consent',
    { preHandler: allowed, schema: { params: leadParams, body: recordConsentBody } },
    async (request, reply) => {
      const { status, note } = request.body;
      if (status !== 'opted_out') {
        throw new ProblemError(
          422,
          'opt_in_not_allowed',
          'Only an opt-out can be recorded',
          status === 'opted_in'
            ? 'a member may record an opt-out, never an opt-in: the contact opts in again by texting START'
            : `status must be "opted_out" (got "${status}")`,
        );
      }
      const deps = { ...depsOf(request), db: request.server.services.db };
      const caller = callerOf(request);
      const lead = await loadLead(deps, caller.orgId, request.params.leadId);
      const outcome = await changeConsent(
        deps,
        caller,
        {
          type: 'OptOut',
          data: { phone: lead.callerPhone, source: 'member', evidence: { by: caller.actor.id, ...(note && { body: note }) } },
        },
        `member\n${lead.id}\n${request.id}`,
      );
      setConsistencyToken(reply, outcome.position);
      return { leadId: lead.id, phone: lead.callerPhone, consent: consentView(outcome.consent) };
    },
  );

  // Who may call: owner, admin, member (ROLES.leads): the people a lead may be assigned to (auditors are not).
  app.get('/assignees', { preHandler: allowed }, async (request) => {
    await awaitConsistency(request, ['orgs']);
    const org = await getOrg(readsOf(request).db, authOf(request).orgId);
    if (!org) throw problems.notFound('org');
    return {
      data: org.members.filter((m) => m.role !== 'auditor').map((m) => ({ memberId: m.memberId, email: m.email, role: m.role })),
    };
  });

  // Who may call: owner, admin, member (ROLES.leads); another org's lead is 404, an auditor 403, no session 401.
  app.post(
    '/leads/:leadId/assignee',
    { preHandler: allowed, schema: { params: leadParams, body: assignLeadBody } },
    async (request, reply) => {
      const outcome = await assignLead(depsOf(request), callerOf(request), request.params.leadId, { memberId: request.body.memberId });
      setConsistencyToken(reply, outcome.position);
      return toLeadView(outcome.lead);
    },
  );

  // Who may call: owner, admin, member (ROLES.leads). Each call logs one call (a repeat logs another).
  app.post(
    '/leads/:leadId/call-logs',
    { preHandler: allowed, schema: { params: leadParams, body: callLogBody } },
    async (request, reply) => {
      const { outcome, note } = request.body;
      const logged = await logCallBack(depsOf(request), callerOf(request), request.params.leadId, {
        outcome,
        ...(note !== undefined && { note }),
      });
      setConsistencyToken(reply, logged.position);
      return reply.code(201).send(toLeadView(logged.lead));
    },
  );

  app.post(
    '/leads/:leadId/status',
    { preHandler: allowed, schema: { params: leadParams, body: changeLeadStatusBody } },
    async (request, reply) => {
      const { status, reason } = request.body;
      const outcome = await changeLeadStatus(depsOf(request), callerOf(request), request.params.leadId, {
        to: status,
        ...(reason !== undefined && { reason }),
      });
      setConsistencyToken(reply, outcome.position);
      return toLeadView(outcome.lead);
    },
  );
};
