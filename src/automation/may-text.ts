import type { Kysely } from 'kysely';
import { loadConsent, lockConsent } from '../commands/consent.ts';
import type { CommandDeps } from '../commands/context.ts';
import type { Database } from '../db/schema.ts';
import type { Consent } from '../domain/consent.ts';
import type { Org } from '../domain/org.ts';
import { RecipientOptedOutError, type SendGuard } from './messaging/port.ts';
import { nextAllowed } from './quiet-hours.ts';
import { recipientQuiet } from './recipient-hours.ts';

/**
 * Why a text is sent:
 * - `automated`: confirmation, reminder, notice; the org's and the recipient's quiet hours;
 * - `answer`: an automated text answering the contact's own call or text within the last hour (the
 *   text-back): the org's quiet hours only; the contact just reached out, at an hour of their choosing;
 * - `reply`: a member's text; the org's and the recipient's quiet hours;
 * - `conversational`: a member's reply answering the contact's own message within the last hour: at once;
 * - `staff`: an alert to one of the org's on-call phones (CONTRACT §10): at once, whatever the hour (being
 *   reached is what on call means); only that phone's own opt-out (STOP) stops it.
 */
export type TextPurpose = 'automated' | 'answer' | 'reply' | 'conversational' | 'staff';

/** How long after the contact's own call or text a text answering it is `answer` / `conversational`. */
export const CONVERSATION_WINDOW_MS = 60 * 60 * 1000;

/** True when `at` is within {@link CONVERSATION_WINDOW_MS} after the contact's last call or text. */
export function answersContact(lastInboundAt: string | undefined, at: string): boolean {
  const since = Date.parse(at) - (lastInboundAt ? Date.parse(lastInboundAt) : Number.NaN);
  return since >= 0 && since <= CONVERSATION_WINDOW_MS;
}

/** The answer to "may this org text this number now?". */
export type MayText =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'deferred'; readonly until: string; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: 'opted_out'; readonly consent: Consent };

/** What {@link mayText} reads: the consent stream (store) and the clock's now comes with the question. */
export type MayTextDeps = Pick<CommandDeps, 'store'>;

/**
 * THE question every send path asks (CONTRACT §8): may `org` text `phone` at `now` for `purpose`?
 * - the contact opted out → `refused` (`opted_out`, with the consent and its evidence);
 * - inside the org's quiet hours or the recipient's (area code → state and zone(s), recipient-hours.ts),
 *   unless `conversational` → `deferred` to the first minute allowed by all of them, with the reason;
 * - otherwise `allowed`.
 * Billing and per-job rules stay with the job. The consent part is asked again at send time under the
 * contact's consent lock ({@link consentGuard}), so an opt-out that lands meanwhile still wins.
 */
export async function mayText(deps: MayTextDeps, org: Org, phone: string, now: Date, purpose: TextPurpose): Promise<MayText> {
  const consent = await loadConsent(deps, org.id, phone);
  if (consent?.status === 'opted_out') return { kind: 'refused', reason: 'opted_out', consent };
  if (purpose === 'conversational' || purpose === 'staff') return { kind: 'allowed' };
  return quietHoursAnswer(org, phone, now.toISOString(), { recipient: purpose !== 'answer' });
}

/**
 * The org's quiet hours and (unless `recipient` is false) the recipient's, combined: the first instant
 * allowed by every one of them.
 */
export function quietHoursAnswer(
  org: Pick<Org, 'settings' | 'timezone'>,
  phone: string,
  at: string,
  options: { recipient?: boolean } = {},
): MayText {
  const recipient = recipientQuiet(phone, org.timezone);
  const rules = [
    { quiet: org.settings.quietHours, zone: org.timezone, label: "the org's quiet hours" },
    ...(options.recipient === false ? [] : recipient.zones.map((zone) => ({ quiet: recipient.quiet, zone, label: recipient.label }))),
  ];
  let t = at;
  const reasons = new Set<string>();
  // Each rule moves `t` forward only; a few passes settle (rules in different zones may push each other).
  for (let pass = 0; pass < 6; pass++) {
    let moved = false;
    for (const rule of rules) {
      const next = nextAllowed(t, rule.quiet, rule.zone);
      if (next !== t) {
        reasons.add(rule.label);
        t = next;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return t === at ? { kind: 'allowed' } : { kind: 'deferred', until: t, reason: [...reasons].join(' and ') };
}

/**
 * The send-time half of {@link mayText}: run inside the transaction that records the send's intent
 * (messaging/ledger.ts), it takes the contact's shared consent lock (an opt-out being recorded holds it
 * exclusively) and reads the consent again; opted out → {@link RecipientOptedOutError}, nothing sent.
 */
export function consentGuard(deps: MayTextDeps, orgId: string, phone: string): SendGuard {
  return async (trx: Kysely<Database>) => {
    await lockConsent(trx, orgId, phone, 'shared');
    const consent = await loadConsent(deps, orgId, phone);
    if (consent?.status === 'opted_out') {
      throw new RecipientOptedOutError(`${phone} opted out (${consent.source}) at ${consent.since}: not sent`);
    }
  };
}
