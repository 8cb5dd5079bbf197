import type { Lead } from './lead.ts';

/** A timeline entry as the summary reads it. */
export interface SummaryEntry {
  readonly kind: string;
  readonly occurredAt: string;
  readonly summary: string;
}

/** What to do next about a lead, derived by rules from its timeline. */
export interface NextAction {
  readonly code: 'call_back' | 'reply_to_text' | 'follow_up' | 'wait_for_reply' | 'confirm_visit' | 'book_visit' | 'none';
  readonly hint: string;
}

/** The lead summary of the planned `lead_summary` action. */
export interface LeadSummary {
  readonly leadId: string;
  readonly caller: string;
  readonly status: Lead['status'];
  readonly lastContact: { readonly at: string; readonly kind: string; readonly direction: 'inbound' | 'outbound' | 'internal' } | null;
  readonly happened: {
    readonly missedCalls: number;
    readonly inboundTexts: number;
    readonly outboundTexts: number;
    readonly bookings: number;
  };
  /** The latest few timeline entries, newest first. */
  readonly recent: SummaryEntry[];
  readonly nextAction: NextAction;
}

const INBOUND = new Set(['missed_call', 'inbound_text']);
const OUTBOUND = new Set(['outbound_text', 'text_back']);
const DAY_MS = 86_400_000;

function ago(fromIso: string, nowIso: string): string {
  const minutes = Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(fromIso)) / 60_000));
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}

/** Rules, in order: closed leads need nothing; booked ones a confirmation; then whoever spoke last. */
function nextAction(lead: Lead, timeline: readonly SummaryEntry[], now: string): NextAction {
  if (lead.status === 'won') return { code: 'none', hint: 'Won: nothing to do.' };
  if (lead.status === 'lost') return { code: 'none', hint: 'Lost: nothing to do unless they get in touch again.' };
  if (lead.status === 'booked') return { code: 'confirm_visit', hint: 'Booked: make sure the visit happens, then mark the lead won.' };
  const contacts = timeline.filter((e) => INBOUND.has(e.kind) || OUTBOUND.has(e.kind));
  const last = contacts.at(-1);
  if (!last) return { code: 'call_back', hint: 'No contact recorded yet: call them.' };
  if (last.kind === 'inbound_text') return { code: 'reply_to_text', hint: `Reply to their text from ${ago(last.occurredAt, now)}.` };
  if (last.kind === 'missed_call') {
    const missed = contacts.filter(
      (e) =>
        e.kind === 'missed_call' &&
        Date.parse(e.occurredAt) > Date.parse(contacts.findLast((c) => OUTBOUND.has(c.kind))?.occurredAt ?? '1970-01-01'),
    ).length;
    return {
      code: 'call_back',
      hint: `Call back: ${missed} missed call${missed === 1 ? '' : 's'} since our last message, the latest ${ago(last.occurredAt, now)}.`,
    };
  }
  // A text-back after a missed call starts a conversation; an answer to their text continues one.
  const conversing = contacts.some((e) => e.kind === 'inbound_text');
  if (Date.parse(now) - Date.parse(last.occurredAt) > DAY_MS) {
    return { code: 'follow_up', hint: `No reply since our message ${ago(last.occurredAt, now)}: call them, or mark the lead lost.` };
  }
  return conversing
    ? { code: 'book_visit', hint: 'We answered them: offer a visit window and book it.' }
    : { code: 'wait_for_reply', hint: `We texted ${ago(last.occurredAt, now)}: give them time to reply.` };
}

/** Summarises a lead from its view and timeline (oldest first) at `now`. */
export function summarizeLead(lead: Lead, timeline: readonly SummaryEntry[], now: string): LeadSummary {
  const contacts = timeline.filter((e) => INBOUND.has(e.kind) || OUTBOUND.has(e.kind));
  const last = contacts.at(-1);
  return {
    leadId: lead.id,
    caller: lead.callerPhone,
    status: lead.status,
    lastContact: last ? { at: last.occurredAt, kind: last.kind, direction: INBOUND.has(last.kind) ? 'inbound' : 'outbound' } : null,
    happened: { ...lead.counts },
    recent: [...timeline].reverse().slice(0, 5),
    nextAction: nextAction(lead, timeline, now),
  };
}
