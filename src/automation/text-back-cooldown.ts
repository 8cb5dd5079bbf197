import { type Kysely, sql } from 'kysely';
import type { CommandDeps } from '../commands/context.ts';
import type { Database } from '../db/schema.ts';
import { leadStream } from '../domain/lead.ts';
import { SendSkippedError, type SendGuard } from './messaging/port.ts';

/**
 * One text-back per conversation (CONTRACT §10): a caller texted back, or answered by the team (a member's
 * text or a logged call-back), within the org's `textBackCooldownMinutes` is not texted back again on a new
 * missed call. Decided at send time, in the transaction that records the send's intent (messaging/ledger.ts)
 * under a lock per (org, caller): two missed calls processed at once by two workers are serial there, and
 * the second sees the first one's recorded intent.
 */

/** Something that already reached (or is reaching) the caller. */
export interface CallerContact {
  readonly kind: 'text_back' | 'reply' | 'call_back';
  /** When; null: a send in flight right now. */
  readonly at: string | null;
}

const ago = (ms: number) => {
  const minutes = Math.floor(ms / 60_000);
  return minutes < 1 ? 'just now' : `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
};

const DONE = { text_back: 'already texted back', reply: 'the team replied', call_back: 'the team called back' } as const;

/**
 * Why the text-back is skipped (plain words, shown on the lead's timeline), or undefined: the newest
 * contact at or after `now` minus the cooldown decides.
 */
export function cooldownReason(now: Date, cooldownMinutes: number, contacts: readonly CallerContact[]): string | undefined {
  if (cooldownMinutes <= 0) return undefined;
  const since = now.getTime() - cooldownMinutes * 60_000;
  const recent = contacts
    // In flight, or stamped a moment after `now` by a racing worker's clock: just now.
    .map((c) => ({ kind: c.kind, at: c.at === null ? now.getTime() : Math.min(Date.parse(c.at), now.getTime()) }))
    .filter((c) => c.at >= since)
    .sort((a, b) => b.at - a.at)[0];
  if (!recent) return undefined;
  return `${DONE[recent.kind]} ${ago(now.getTime() - recent.at)} (one text-back per ${cooldownMinutes} minutes)`;
}

/** What the cooldown reads: the caller, the lead, the send's own key, the time and the org's setting. */
export interface CooldownQuestion {
  readonly orgId: string;
  readonly leadId: string;
  readonly phone: string;
  /** The text-back's own job key (a retried job finds its own row: not an earlier text). */
  readonly key: string;
  /** Read once the lock is held. */
  readonly clock: () => Date;
  readonly cooldownMinutes: number;
}

/**
 * The send guard of a text-back: takes the (org, caller) text-back lock, then reads the org's texts to the
 * caller (text-backs and members' replies, sent or in flight, from the send ledger) and the lead's members'
 * texts and call-backs; a recent one → {@link SendSkippedError} with the reason, nothing sent.
 */
export function textBackCooldownGuard(deps: Pick<CommandDeps, 'store'>, q: CooldownQuestion): SendGuard {
  return async (trx: Kysely<Database>) => {
    if (q.cooldownMinutes <= 0) return;
    await sql`select pg_advisory_xact_lock(hashtextextended(${`text-back\n${q.orgId}\n${q.phone}`}, 0))`.execute(trx);
    const now = q.clock();
    const since = new Date(now.getTime() - q.cooldownMinutes * 60_000).toISOString();
    // A row `sending` has no sent_at yet: in flight now. Its created_at is the database's clock, so it is
    // compared with the database's; a stale one (outcome never known) stops counting after the cooldown.
    const sent = await trx
      .selectFrom('outbound_messages')
      .select(['kind', 'state', 'sent_at'])
      .where('org_id', '=', q.orgId)
      .where('to', '=', q.phone)
      .where('kind', 'in', ['text_back', 'reply'])
      .where('job_key', '<>', q.key)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'sent'), eb('sent_at', '>=', since)]),
          eb.and([
            eb('state', '=', 'sending'),
            eb('created_at', '>=', sql<Date>`now() - make_interval(mins => ${q.cooldownMinutes}::int)`),
          ]),
        ]),
      )
      .execute();
    const events = await deps.store.readStream(leadStream(q.leadId));
    const contacts: CallerContact[] = [
      ...sent.map((r) => ({
        kind: r.kind === 'reply' ? ('reply' as const) : ('text_back' as const),
        at: r.state === 'sending' || !r.sent_at ? null : new Date(r.sent_at).toISOString(),
      })),
      // A member's text counts once requested (it may be held by quiet hours); a call-back once logged.
      ...events.flatMap((e): CallerContact[] =>
        e.type === 'OutboundTextRequested'
          ? [{ kind: 'reply', at: e.metadata.occurredAt }]
          : e.type === 'CallBackLogged'
            ? [{ kind: 'call_back', at: e.metadata.occurredAt }]
            : [],
      ),
    ];
    const reason = cooldownReason(now, q.cooldownMinutes, contacts);
    if (reason) throw new SendSkippedError(reason);
  };
}
