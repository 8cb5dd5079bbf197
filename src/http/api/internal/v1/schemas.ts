import { z } from 'zod';
import { eventTypeName } from '../../../../domain/events/index.ts';
import { auditActorId } from '../../../../queries/audit.ts';
import { parsePosition } from '../../../../eventstore/position.ts';
import { leadStatus } from '../../../../domain/events/lead.ts';
import { scope } from '../../../../domain/events/credential.ts';
import { memberRole, orgSettingsPatch, webhookEventType } from '../../../../domain/events/org.ts';
import { instant } from '../../../../domain/values.ts';

export const leadParams = z.object({ leadId: z.uuid() }).strict();

/** GET /leads query. */
export const listLeadsQuery = z
  .object({
    status: z
      .string()
      .regex(/^(active|booked|won|lost|all)(,(active|booked|won|lost|all))*$/, 'must be active, booked, won, lost or all, comma-separated')
      .optional(),
    q: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(100)
      .optional()
      .describe("part of the caller's phone number or of the customer name"),
    order: z.enum(['newest', 'waiting']).default('newest'),
    assignee: z
      .union([z.enum(['me', 'none']), z.uuid()], { error: 'must be me, none or a member id' })
      .optional()
      .describe('me: leads assigned to the caller; none: unassigned leads; a member id: that member’s leads'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(500).optional(),
  })
  .strict();

/** POST /leads/:leadId/assignee body: the member who owns the lead from now on, or null to unassign. */
export const assignLeadBody = z
  .object({
    memberId: z.uuid('must be a member id (UUID) or null').nullable().describe('a member of this org (owner, admin or member), or null'),
    expectedMemberId: z
      .uuid('must be a member id (UUID) or null')
      .nullable()
      .optional()
      .describe(
        'the assignee the asker last saw (null: nobody); when the lead has another one by now the answer is 409 assignee_changed naming them, and nothing changes',
      ),
  })
  .strict();

/** POST /leads/:leadId/call-logs body: how the call-back went. */
export const callLogBody = z
  .object({
    outcome: z.enum(['reached', 'voicemail', 'no_answer'], { error: 'must be reached, voicemail or no_answer' }),
    note: z.string().trim().min(1, 'must not be empty').max(500).optional(),
  })
  .strict();

/** POST /leads/:leadId/status body. */
export const changeLeadStatusBody = z.object({ status: leadStatus, reason: z.string().trim().min(1).max(1000).optional() }).strict();

/** POST /leads/:leadId/messages body: the text, and the id the page made for this one click (a repeat sends nothing more). */
/**
 * POST /leads/:leadId/consent body: a member records an opt-out the caller asked for (on the phone, in
 * person). Only `opted_out`: an opt-in comes from the contact themselves (START), never from a member.
 */
export const recordConsentBody = z
  .object({
    status: z.string().max(40),
    note: z.string().trim().max(500).optional(),
  })
  .strict();

export const sendMessageBody = z
  .object({
    body: z.string().trim().min(1, 'must not be empty').max(1600, 'must be at most 1600 characters'),
    clientMessageId: z
      .string()
      .min(8, 'must be at least 8 characters (a UUID per click works)')
      .max(100)
      .regex(/^[A-Za-z0-9._:-]+$/, 'must be letters, digits, and . _ : -'),
  })
  .strict();

const streamName = z
  .string()
  .regex(
    /^(booking|lead|org|credential|consent)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'must be a stream name such as lead-<uuid>',
  );

/** GET /audit/events query: `since` inclusive, `until` exclusive (event time); `type` and `actor` (id) narrow it. */
export const auditQuery = z
  .object({
    stream: streamName.optional(),
    type: eventTypeName.optional(),
    actor: auditActorId.optional().describe('actor id: a member id, a credential id, twilio, automation, ...'),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.since && q.until && Date.parse(q.until) <= Date.parse(q.since))
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
  });

/** GET /audit/state query: one stream folded up to an instant (event time, inclusive) or a position from the timeline. */
export const auditStateQuery = z
  .object({
    stream: streamName,
    asOf: z
      .string()
      .min(1)
      .max(100)
      .refine(
        (v) => parsePosition(v) !== undefined || !Number.isNaN(Date.parse(v)),
        'must be an ISO-8601 instant or a position such as 123.45',
      ),
  })
  .strict();

/** PUT /settings body: the settings to change; omitted ones stay as they are. Planned actions are not here (operator only). */
export const settingsBody = orgSettingsPatch
  .omit({ enabledActions: true })
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one setting to change');

export const memberParams = z.object({ memberId: z.uuid() }).strict();

/** PUT /members/:memberId/role body. */
export const memberRoleBody = z.object({ role: memberRole }).strict();

/** POST /members/invitations body. */
export const invitationBody = z.object({ email: z.email().max(254), role: memberRole }).strict();

export const tokenParams = z.object({ tokenId: z.uuid() }).strict();

/** POST /tokens body: an integration token for the org's systems. */
export const issueTokenBody = z
  .object({
    label: z.string().trim().min(1).max(200),
    scopes: z.array(scope).min(1, 'name at least one scope').max(10),
    expiresAt: instant.optional(),
  })
  .strict();

/** DELETE /tokens/:tokenId body (optional). */
export const revokeTokenBody = z
  .object({ reason: z.string().trim().min(1).max(500).optional() })
  .strict()
  .nullish();

/** POST /webhook-endpoints body (CONTRACT §9). */
export const addWebhookEndpointBody = z
  .object({
    url: z.string().trim().min(1).max(2000),
    events: z.array(webhookEventType).min(1, 'name at least one event type').max(20),
    description: z.string().trim().min(1).max(500).optional(),
  })
  .strict();

export const webhookEndpointParams = z.object({ endpointId: z.uuid() }).strict();

/** POST /webhook-endpoints/:endpointId/replay body: from one delivery on, or every delivery since a time. */
export const replayWebhookBody = z.union([
  z.object({ deliveryId: z.string().min(1).max(100) }).strict(),
  z.object({ since: instant }).strict(),
]);
