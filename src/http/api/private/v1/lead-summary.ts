import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { summarizeLead } from '../../../../domain/lead-summary.ts';
import { getConsent, getLeadDetail } from '../../../../queries/leads.ts';
import { awaitConsistency, readsOf } from '../../../common/consistency.ts';
import { authOf } from '../../../plugins/authentication.ts';
import { requireScope } from '../../../plugins/authorization.ts';
import { requireEnabled } from '../../../plugins/planned-actions.ts';
import { problems } from '../../../common/problem.ts';

export const leadSummaryParams = z.object({ leadId: z.uuid() }).strict();

export const leadSummaryResource = z
  .object({
    leadId: z.uuid(),
    caller: z.string(),
    status: z.enum(['active', 'booked', 'won', 'lost']),
    lastContact: z.object({ at: z.string(), kind: z.string(), direction: z.enum(['inbound', 'outbound', 'internal']) }).nullable(),
    happened: z.object({
      missedCalls: z.number().int(),
      inboundTexts: z.number().int(),
      outboundTexts: z.number().int(),
      bookings: z.number().int(),
    }),
    recent: z.array(z.object({ kind: z.string(), occurredAt: z.string(), summary: z.string() })),
    nextAction: z.object({ code: z.string(), hint: z.string() }),
    /** The caller's consent to texts (CONTRACT §8): `unknown` until they said either way. */
    consent: z.object({
      status: z.enum(['unknown', 'opted_out', 'opted_in']),
      since: z.string().nullable(),
      source: z.string().nullable(),
    }),
  })
  .meta({ id: 'LeadSummary' });

/** Planned action `lead_summary`: what happened with a lead and what to do next (only for orgs that enabled it). */
export const leadSummaryRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/leads/:leadId/summary',
    {
      onRequest: async (request) => {
        await requireEnabled(request, 'lead_summary');
      },
      preHandler: requireScope('READ_LEAD_SUMMARY'),
      config: { action: 'lead_summary' },
      schema: {
        summary: 'Lead summary with a next-action hint (planned action; enabled per org)',
        operationId: 'getLeadSummary',
        params: leadSummaryParams,
        response: { 200: leadSummaryResource },
      },
    },
    (request) => leadSummaryFor(request, request.params.leadId),
  );
};

/** The summary of one of the caller's org's leads (404 for another org's or an absent one). */
export async function leadSummaryFor(request: FastifyRequest, leadId: string) {
  await awaitConsistency(request, ['leads', 'lead_timeline', 'contact_consent']);
  const { orgId } = authOf(request);
  const { db } = readsOf(request);
  const lead = await getLeadDetail(db, orgId, leadId);
  if (!lead) throw problems.notFound('lead');
  const { timeline, ...view } = lead;
  const summary = summarizeLead(
    view,
    timeline.map((e) => ({ kind: e.kind, occurredAt: e.occurredAt, summary: e.summary })),
    request.server.services.clock().toISOString(),
  );
  return { ...summary, consent: await getConsent(db, orgId, lead.callerPhone) };
}
