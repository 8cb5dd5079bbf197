import { z } from 'zod';
import { e164, instant, uuid } from '../values.ts';

/** Lead lifecycle states. */
export const leadStatus = z.enum(['active', 'booked', 'won', 'lost']);
export type LeadStatus = z.infer<typeof leadStatus>;

/** Final call statuses that count as a missed call (CONTRACT §4). */
export const missedCallStatus = z.enum(['no-answer', 'busy', 'failed', 'canceled']);
export type MissedCallStatus = z.infer<typeof missedCallStatus>;

/** Lead stream events, version 1 each. */
export const leadEvents = {
  /**
   * A lead starts. `generation` counts the leads of one (org, caller): the lead id is derived from
   * (org, caller, generation), so concurrent first contacts from one number converge on one stream.
   */
  LeadOpened: z
    .object({
      leadId: uuid,
      orgId: uuid,
      callerPhone: e164,
      businessPhone: e164.optional(),
      generation: z.number().int().min(0),
      source: z.enum(['missed_call', 'inbound_text', 'booking', 'manual']),
      /** When the team's first response is due (the org's `responseTargetMinutes` of business time), and half-way there. */
      firstResponseDueAt: instant.optional(),
      firstResponseHalfAt: instant.optional(),
    })
    .strict(),
  /** A member called the caller back from the lead page and logged how it went (a first response, CONTRACT §10). */
  CallBackLogged: z
    .object({ leadId: uuid, outcome: z.enum(['reached', 'voicemail', 'no_answer']), note: z.string().max(500).optional() })
    .strict(),
  /** Nobody from the team answered by `dueAt`: recorded once per lead (for the reports). */
  LeadResponseOverdue: z.object({ leadId: uuid, dueAt: instant }).strict(),
  MissedCallRecorded: z
    .object({ leadId: uuid, callSid: z.string().min(1).max(64), from: e164, to: e164, callStatus: missedCallStatus, calledAt: instant })
    .strict(),
  /** `flag`: the text has an opt-out word but is not plainly a revocation (CONTRACT §8): the team decides. */
  InboundTextReceived: z
    .object({
      leadId: uuid,
      messageSid: z.string().min(1).max(64),
      from: e164,
      to: e164,
      body: z.string().max(1600),
      receivedAt: instant,
      flag: z.enum(['possible_opt_out']).optional(),
    })
    .strict(),
  OutboundTextRecorded: z
    .object({
      leadId: uuid,
      messageId: z.string(),
      to: e164,
      body: z.string().max(1600),
      kind: z.enum(['text_back', 'manual']),
      sentAt: instant,
    })
    .strict(),
  /** A team member asked to text the caller; `messageId` is derived from (org, lead, clientMessageId), so a repeated click records nothing. */
  OutboundTextRequested: z
    .object({
      leadId: uuid,
      messageId: uuid,
      clientMessageId: z.string().min(1).max(100),
      to: e164,
      from: e164.optional(),
      body: z.string().min(1).max(1600),
    })
    .strict(),
  /** The requested text went out through the messaging port (`providerMessageId`: Twilio's SID; delivery reports name it). */
  OutboundTextSent: z
    .object({
      leadId: uuid,
      messageId: uuid,
      providerMessageId: z.string().min(1).max(64),
      to: e164,
      body: z.string().max(1600),
      sentAt: instant,
    })
    .strict(),
  /** The requested text could not be sent (refused by the provider, or retries exhausted). */
  OutboundTextFailed: z.object({ leadId: uuid, messageId: uuid, error: z.string().max(1000) }).strict(),
  TextBackSent: z
    .object({ leadId: uuid, messageId: z.string(), to: e164, body: z.string().max(1600), sentAt: instant, callSid: z.string() })
    .strict(),
  TextBackSkipped: z.object({ leadId: uuid, callSid: z.string(), reason: z.string() }).strict(),
  TextBackFailed: z.object({ leadId: uuid, callSid: z.string(), error: z.string() }).strict(),
  /** A text to the caller was due inside quiet hours (the org's or the recipient's): put off to `until`, never dropped. */
  LeadTextDeferred: z.object({ leadId: uuid, kind: z.enum(['text_back', 'reply']), until: instant, reason: z.string().max(500) }).strict(),
  MessageDeliveryUpdated: z
    .object({ leadId: uuid, messageSid: z.string(), status: z.string().max(40), errorCode: z.string().max(20).optional() })
    .strict(),
  LeadStatusChanged: z.object({ leadId: uuid, from: leadStatus, to: leadStatus, reason: z.string().max(1000).optional() }).strict(),
  LeadBookingLinked: z.object({ leadId: uuid, bookingId: uuid }).strict(),
  /**
   * A team member now owns the lead (CONTRACT §10). `reason`: `manual` (someone assigned it), `reply` (an
   * unassigned lead's first reply from a member), `round_robin` (the org's auto-assignment).
   */
  LeadAssigned: z
    .object({
      leadId: uuid,
      memberId: uuid,
      /** The member's email when assigned (the list shows it without another read). */
      label: z.string().min(1).max(320),
      previousMemberId: uuid.optional(),
      reason: z.enum(['manual', 'reply', 'round_robin']),
    })
    .strict(),
  /** Nobody owns the lead any more. */
  LeadUnassigned: z.object({ leadId: uuid, previousMemberId: uuid }).strict(),
  /**
   * An on-call staff phone was texted about new activity on the lead (CONTRACT §10): at most one alert per
   * lead per 15 minutes. `messageId`: the provider's id of the alert text.
   */
  StaffAlerted: z
    .object({
      leadId: uuid,
      phone: e164,
      messageId: z.string().min(1).max(64),
      trigger: z.enum(['missed_call', 'inbound_text']),
      sentAt: instant,
    })
    .strict(),
  /** A closed lead got new activity from its caller: that activity goes to the next lead, this one stays closed. */
  LeadSuperseded: z.object({ leadId: uuid, nextLeadId: uuid }).strict(),
} as const;
