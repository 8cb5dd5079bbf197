import { z } from 'zod';
import { blackoutDate, businessHours, e164, instant, plannedAction, quietHours, timeZone, uuid } from '../values.ts';

/** Stripe-driven billing status of an org. */
export const billingStatus = z.enum(['active', 'trialing', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused']);
export type BillingStatus = z.infer<typeof billingStatus>;

/** Member roles, strongest first. */
export const memberRole = z.enum(['owner', 'admin', 'member', 'auditor']);
export type MemberRole = z.infer<typeof memberRole>;

/** Automation settings an operator or admin may change; each field optional in a change. */
export const orgSettingsPatch = z
  .object({
    confirmations: z.boolean().optional(),
    reminderOffsetsMinutes: z
      .array(
        z
          .number()
          .int()
          .min(1)
          .max(60 * 24 * 30),
      )
      .max(10)
      .optional(),
    textBack: z.boolean().optional(),
    textBackTemplate: z.string().min(1).max(640).optional(),
    /** Ends the first automated text to a number (CONTRACT §8); empty: no line (the org says so elsewhere). */
    optOutLine: z.string().trim().max(160).optional(),
    /** The A2P 10DLC campaign id of the org's sender (Twilio: CM + 32 hex); automated texts need it on MESSAGING=twilio. */
    a2pCampaignId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{3,64}$/, 'must be the A2P 10DLC campaign id, e.g. CM followed by 32 hex digits')
      .nullable()
      .optional(),
    quietHours: quietHours.nullable().optional(),
    timezone: timeZone.optional(),
    businessHours: businessHours.optional(),
    /** Visits the crew can take per arrival window. */
    crewCapacity: z.number().int().min(1).max(100).optional(),
    blackoutDates: z.array(blackoutDate).max(366).optional(),
    /** Minutes of business time the team has to answer a new lead (CONTRACT §10). */
    responseTargetMinutes: z.number().int().min(1).max(1440).optional(),
    /** Minutes in which a caller already texted back, or answered by the team, is not texted back again (CONTRACT §10); 0: no cooldown. */
    textBackCooldownMinutes: z.number().int().min(0).max(10080).optional(),
    /** Planned actions switched on for this org (CONTRACT §6). */
    enabledActions: z.array(plannedAction).optional(),
    /** Staff phones texted about new missed calls and texts (CONTRACT §10): E.164, each once. */
    onCallPhones: z
      .array(e164)
      .max(10)
      .refine((phones) => new Set(phones).size === phones.length, 'must not name a phone twice')
      .optional(),
    /** Who a new lead goes to (CONTRACT §10): nobody, or the next member in a stable rotation. */
    autoAssign: z.enum(['none', 'round_robin'], { error: 'must be none or round_robin' }).optional(),
  })
  .strict();

/** What an outbound webhook endpoint may subscribe to (CONTRACT §9). */
export const webhookEventType = z.enum([
  'booking.created',
  'booking.rescheduled',
  'booking.canceled',
  'booking.confirmation_sent',
  'booking.reminder_sent',
  'lead.created',
  'lead.status_changed',
  'lead.opted_out',
]);
export type WebhookEventType = z.infer<typeof webhookEventType>;

/** A secret's fingerprint (`sha256:` + 16 hex digits of its SHA-256): events name a secret by it, never by itself. */
const secretFingerprint = z.string().regex(/^sha256:[0-9a-f]{16}$/);

/** Org stream events, version 1 each. */
export const orgEvents = {
  OrgCreated: z
    .object({ orgId: uuid, name: z.string().trim().min(1).max(200), timezone: timeZone, phones: z.array(e164).max(20) })
    .strict(),
  /** `movedFrom`: the org the number was moved away from (`--move-phone`). */
  OrgPhoneAdded: z.object({ orgId: uuid, phone: e164, movedFrom: uuid.optional() }).strict(),
  /** The number now belongs to `movedTo` (moved explicitly by an operator). */
  OrgPhoneRemoved: z.object({ orgId: uuid, phone: e164, movedTo: uuid }).strict(),
  OrgSettingsChanged: z.object({ orgId: uuid, changes: orgSettingsPatch }).strict(),
  OrgStripeCustomerLinked: z.object({ orgId: uuid, stripeCustomerId: z.string().min(1).max(100) }).strict(),
  OrgBillingStatusChanged: z
    .object({
      orgId: uuid,
      status: billingStatus,
      previousStatus: billingStatus.optional(),
      stripeEventId: z.string().max(100),
      stripeCustomerId: z.string().max(100).optional(),
      /** Stripe's `event.created` (UTC instant): an older event arriving late does not undo a newer one. */
      stripeEventCreated: instant.optional(),
    })
    .strict(),
  MemberAdded: z.object({ orgId: uuid, memberId: uuid, email: z.email(), role: memberRole }).strict(),
  /** An owner or admin changed a member's role; the member's tokens and sessions act with the new role from then on. */
  MemberRoleChanged: z.object({ orgId: uuid, memberId: uuid, from: memberRole, to: memberRole }).strict(),
  /** An admin registered an outbound webhook endpoint (the secret is in `webhook_endpoints`; here its fingerprint). */
  WebhookEndpointAdded: z
    .object({
      orgId: uuid,
      endpointId: uuid,
      url: z.string().max(2000),
      events: z.array(webhookEventType).min(1),
      description: z.string().max(500).optional(),
      secretFingerprint,
    })
    .strict(),
  WebhookEndpointRemoved: z.object({ orgId: uuid, endpointId: uuid }).strict(),
  /** Deliveries to the endpoint kept failing (5 days without a success): nothing more is sent to it. */
  WebhookEndpointDisabled: z.object({ orgId: uuid, endpointId: uuid, reason: z.string().max(1000) }).strict(),
  /** A new secret signs from now on; the previous one signs too until `previousValidUntil`. */
  WebhookSecretRotated: z.object({ orgId: uuid, endpointId: uuid, secretFingerprint, previousValidUntil: instant }).strict(),
  /** A member left the org: their sessions, member tokens and open invites end at once. */
  MemberRemoved: z.object({ orgId: uuid, memberId: uuid, email: z.email(), role: memberRole }).strict(),
} as const;
