import { z } from 'zod';
import { e164, uuid } from '../values.ts';

/** How a contact's consent changed (CONTRACT §8). */
export const consentSource = z.enum(['keyword', 'phrase', 'carrier', 'provider', 'member']);
export type ConsentSource = z.infer<typeof consentSource>;

/** What proves the change: the text that said it, the refused send, or the member who recorded it. */
export const consentEvidence = z
  .object({
    messageSid: z.string().min(1).max(64).optional(),
    body: z.string().max(1600).optional(),
    /** Who: a member id, `twilio`, or the job key of a send the carrier refused. */
    by: z.string().min(1).max(200).optional(),
    errorCode: z.string().max(20).optional(),
  })
  .strict();
export type ConsentEvidence = z.infer<typeof consentEvidence>;

const change = z.object({ orgId: uuid, phone: e164, source: consentSource, evidence: consentEvidence }).strict();

/** Consent stream events (one stream per org and phone), version 1 each. */
export const consentEvents = {
  /** The contact revoked consent: nothing is texted to the number by the org until they opt in again. */
  ContactOptedOut: change,
  /** The contact opted in again (START, UNSTOP, YES, or Twilio's START); never recorded by a member. */
  ContactOptedIn: change,
} as const;
