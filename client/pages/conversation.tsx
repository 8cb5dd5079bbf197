import { DateTime } from 'luxon';
import { phone, when } from '../format.ts';
import { Link } from '../router.tsx';
import type { LeadDetail, LinkedBooking, Me, TimelineEntry } from '../types.ts';

/** Where one outbound text stands: asked for, handed to the carrier, on the phone, or not sent. */
export type DeliveryState = 'requested' | 'sent' | 'delivered' | 'failed';

const DELIVERY_LABEL: Record<DeliveryState, string> = {
  requested: 'Requested',
  sent: 'Sent',
  delivered: 'Delivered',
  failed: 'Not delivered',
};

/**
 * The delivery state of an outbound text: Twilio's latest status callback wins (delivered / undelivered /
 * failed), else where our own send stands (requested → sent, or failed with the reason).
 */
export function deliveryOf(entry: TimelineEntry): { state: DeliveryState; detail?: string } {
  const status = entry.delivery?.status;
  if (status === 'delivered' || status === 'read') return { state: 'delivered' };
  if (status === 'undelivered' || status === 'failed' || status === 'canceled')
    return { state: 'failed', ...(entry.delivery?.errorCode && { detail: `carrier error ${entry.delivery.errorCode}` }) };
  if (status) return { state: 'sent' };
  if (entry.message?.state === 'queued') return { state: 'requested' };
  if (entry.message?.state === 'failed') return { state: 'failed', ...(entry.message.error && { detail: entry.message.error }) };
  return { state: 'sent' };
}

/** "Visit Sat Dec 5, 9–11 AM" in the booking's zone. */
export function visitLabel(booking: Pick<LinkedBooking, 'window' | 'timezone'>): string {
  const start = DateTime.fromISO(booking.window.start, { zone: booking.timezone });
  const end = DateTime.fromISO(booking.window.end, { zone: booking.timezone });
  const time = (t: DateTime) => (t.minute ? t.toFormat('h:mm') : t.toFormat('h'));
  const sameHalf = start.toFormat('a') === end.toFormat('a');
  return `Visit ${start.toFormat('ccc LLL d')}, ${time(start)}${sameHalf ? '' : ` ${start.toFormat('a')}`}–${time(end)} ${end.toFormat('a')}`;
}

const STATUS_WORD: Record<string, string> = { active: 'Active', booked: 'Booked', won: 'Won', lost: 'Lost' };

type Item =
  | {
      kind: 'bubble';
      entry: TimelineEntry;
      side: 'customer' | 'team';
      body: string;
      by: string;
      note?: string;
      delivery?: { state: DeliveryState; detail?: string };
    }
  | { kind: 'event'; entry: TimelineEntry; text: string; link?: { to: string; text: string } };

/** The timeline as a conversation: texts become bubbles, everything else a one-line separator in plain words. */
function itemsOf(lead: LeadDetail, zone: string): Item[] {
  const bookings = new Map((lead.linkedBookings ?? []).map((b) => [b.id, b]));
  const items: Item[] = [];
  for (const entry of lead.timeline) {
    const d = entry.details as Record<string, string | undefined>;
    switch (entry.type) {
      case 'InboundTextReceived':
        items.push({
          kind: 'bubble',
          entry,
          side: 'customer',
          body: d.body ?? '',
          by: lead.callerName || phone(lead.callerPhone),
          ...(d.flag === 'possible_opt_out' && { note: 'Possible opt-out: decide whether to stop texting' }),
        });
        break;
      case 'OutboundTextRequested':
        items.push({ kind: 'bubble', entry, side: 'team', body: d.body ?? '', by: entry.actor.label, delivery: deliveryOf(entry) });
        break;
      case 'OutboundTextRecorded':
        items.push({
          kind: 'bubble',
          entry,
          side: 'team',
          body: d.body ?? '',
          by: d.kind === 'text_back' ? 'Automatic text-back' : entry.actor.label,
          delivery: deliveryOf(entry),
        });
        break;
      case 'TextBackSent':
        items.push({
          kind: 'bubble',
          entry,
          side: 'team',
          body: d.body ?? '',
          by: 'Automatic text-back',
          delivery: deliveryOf(entry),
        });
        break;
      // The send and its failure are the state of the requested text's bubble, not entries of their own.
      case 'OutboundTextSent':
      case 'OutboundTextFailed':
        break;
      case 'MissedCallRecorded':
        items.push({ kind: 'event', entry, text: d.callStatus === 'busy' ? 'Missed call (line busy)' : 'Missed call' });
        break;
      case 'TextBackSkipped':
        items.push({ kind: 'event', entry, text: `No automatic text-back: ${String(d.reason).replace(/_/g, ' ')}` });
        break;
      case 'TextBackFailed':
        items.push({ kind: 'event', entry, text: `Automatic text-back failed: ${d.error}` });
        break;
      case 'LeadTextDeferred':
        items.push({
          kind: 'event',
          entry,
          text: `${d.kind === 'text_back' ? 'Automatic text-back' : 'Reply'} held until ${when(String(d.until), zone)}: ${d.reason}`,
        });
        break;
      case 'LeadStatusChanged': {
        const automatic = typeof d.reason === 'string' && /^booking [0-9a-f-]{36}$/.test(d.reason);
        const reason = !automatic && d.reason ? ` (${d.reason})` : '';
        items.push({
          kind: 'event',
          entry,
          text: `${automatic ? 'Marked' : `${entry.actor.label} moved it to`} ${STATUS_WORD[d.to ?? ''] ?? d.to}${reason}`,
        });
        break;
      }
      case 'LeadBookingLinked': {
        const booking = bookings.get(String(d.bookingId));
        items.push({
          kind: 'event',
          entry,
          text: 'Booked:',
          link: {
            to: `/app/bookings/${d.bookingId}`,
            text: booking ? `${visitLabel(booking)}${booking.status === 'canceled' ? ' (canceled)' : ''}` : 'the visit',
          },
        });
        break;
      }
      case 'LeadAssigned':
        items.push({
          kind: 'event',
          entry,
          text: `Assigned to ${d.label}${d.reason === 'reply' ? ' (replied first)' : d.reason === 'round_robin' ? ' (round robin)' : ''}`,
        });
        break;
      case 'LeadUnassigned':
        items.push({ kind: 'event', entry, text: 'Unassigned' });
        break;
      case 'CallBackLogged':
        items.push({
          kind: 'event',
          entry,
          text: `${entry.actor.label} called back: ${String(d.outcome).replace(/_/g, ' ')}${d.note ? ` (${d.note})` : ''}`,
        });
        break;
      default:
        items.push({ kind: 'event', entry, text: entry.summary });
    }
  }
  return items;
}

/** The lead's thread as a conversation: the customer on the left, the team on the right. */
export function Conversation({ me, lead }: { me: Me; lead: LeadDetail }) {
  const zone = me.timezone;
  const time = (iso: string) => DateTime.fromISO(iso, { zone }).toFormat('ccc LLL d, h:mm a');
  return (
    <ol className="conversation" aria-label="Conversation" data-testid="timeline">
      {itemsOf(lead, zone).map((item) =>
        item.kind === 'bubble' ? (
          <li key={item.entry.id} className={`bubble-row ${item.side}`} data-type={item.entry.type}>
            <div className={`bubble ${item.side}`}>
              <p className="bubble-by">{item.by}</p>
              <p className="bubble-body">{item.body}</p>
              {item.note && <p className="bubble-note">{item.note}</p>}
              <p className="bubble-meta">
                <time dateTime={item.entry.occurredAt}>{time(item.entry.occurredAt)}</time>
                {item.delivery && (
                  <>
                    {' · '}
                    <span className={`delivery dstate-${item.delivery.state}`} data-testid="delivery" data-state={item.delivery.state}>
                      {DELIVERY_LABEL[item.delivery.state]}
                      {item.delivery.detail && `: ${item.delivery.detail}`}
                    </span>
                  </>
                )}
              </p>
            </div>
          </li>
        ) : (
          <li key={item.entry.id} className={`separator kind-${item.entry.kind}`} data-type={item.entry.type}>
            <span>
              {item.text}
              {item.link && (
                <>
                  {' '}
                  <Link to={item.link.to}>{item.link.text}</Link>
                </>
              )}
              {' · '}
              <time dateTime={item.entry.occurredAt}>{time(item.entry.occurredAt)}</time>
            </span>
          </li>
        ),
      )}
    </ol>
  );
}
