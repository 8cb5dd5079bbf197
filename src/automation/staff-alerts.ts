import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';

/** One alert per lead per this many minutes (CONTRACT §10). */
export const STAFF_ALERT_INTERVAL_MINUTES = 15;

/**
 * Claims the right to alert the on-call phones about a lead for the call or text `triggerEventId` that came
 * at `at`. One conditional upsert on the lead's row: it wins when the lead had no alert yet, when the last
 * one came at least {@link STAFF_ALERT_INTERVAL_MINUTES} earlier, or when the last one is this same trigger
 * (a retried job). Concurrent claims on one lead serialize on the row, so of two workers only one wins.
 */
export async function claimStaffAlert(
  db: Kysely<Database>,
  claim: { orgId: string; leadId: string; triggerEventId: string; at: string },
): Promise<boolean> {
  const { rows } = await sql<{ lead_id: string }>`
    insert into staff_alert_claims (lead_id, org_id, trigger_event_id, claimed_at)
    values (${claim.leadId}::uuid, ${claim.orgId}::uuid, ${claim.triggerEventId}, ${claim.at}::timestamptz)
    on conflict (lead_id) do update set trigger_event_id = excluded.trigger_event_id, claimed_at = excluded.claimed_at
    where staff_alert_claims.trigger_event_id = excluded.trigger_event_id
       or staff_alert_claims.claimed_at <= excluded.claimed_at - make_interval(mins => ${STAFF_ALERT_INTERVAL_MINUTES})
    returning lead_id`.execute(db);
  return rows.length > 0;
}

/** "(512) 555-0611" for a North American number; any other number as it is. */
export function readablePhone(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

/**
 * The alert's text: who called or texted (with the start of the text) and a link straight to the thread,
 * "Missed call from (512) 555-0611 — reply: https://…/app/leads/<id>".
 */
export function staffAlertBody(alert: {
  trigger: 'missed_call' | 'inbound_text';
  callerPhone: string;
  link: string;
  text?: string;
}): string {
  const who = readablePhone(alert.callerPhone);
  if (alert.trigger === 'missed_call') return `Missed call from ${who} — reply: ${alert.link}`;
  const text = alert.text?.replace(/\s+/g, ' ').trim();
  const quoted = text ? `: "${text.length > 60 ? `${text.slice(0, 59)}…` : text}"` : '';
  return `New text from ${who}${quoted} — reply: ${alert.link}`;
}
