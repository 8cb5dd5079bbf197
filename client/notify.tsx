import { useEffect, useRef, useState } from 'react';
import { api } from './api.ts';
import { phone } from './format.ts';
import { useRouter } from './router.tsx';
import type { Lead, TimelineEntry } from './types.ts';

/**
 * New calls and texts reaching the team while the app is open (CONTRACT §10): a browser notification for
 * each (the Notification API, once the person allowed it from the inbox's prompt; also while the tab is in
 * the background) and an unread count in the tab's title until the person looks at the inbox again.
 */

/** Live-feed event types that bring a new call or text. */
export const ARRIVAL_TYPES: readonly string[] = ['MissedCallRecorded', 'InboundTextReceived'];

/** One new call or text, as the live feed announced it (its position, type and lead stream). */
export interface Arrival {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
}

const ARRIVAL_EVENT = 'callsnare:arrival';

/** Tells the page about a new call or text (live.tsx calls it for each one the feed brings). */
export function announceArrival(arrival: Arrival): void {
  window.dispatchEvent(new CustomEvent<Arrival>(ARRIVAL_EVENT, { detail: arrival }));
}

const supported = () => typeof window !== 'undefined' && 'Notification' in window;

/** The person is looking at this tab now. */
const looking = () => document.visibilityState === 'visible' && document.hasFocus();

/** Shows the notification of one arrival: who, what, and a click that opens the thread. */
async function notify(arrival: Arrival, open: (leadId: string) => void): Promise<void> {
  if (!supported() || Notification.permission !== 'granted') return;
  const leadId = arrival.streamId.replace(/^lead-/, '');
  let who = 'a caller';
  let text: string | undefined;
  try {
    const lead = await api<Lead & { timeline?: TimelineEntry[] }>(`/leads/${leadId}`);
    who = lead.callerName ? `${lead.callerName} (${phone(lead.callerPhone)})` : phone(lead.callerPhone);
    const last = lead.timeline?.filter((e) => e.type === 'InboundTextReceived').at(-1);
    if (typeof last?.details.body === 'string') text = last.details.body;
  } catch {
    // The lead could not be read (signed out meanwhile, offline): the notification still says what came.
  }
  const missed = arrival.type === 'MissedCallRecorded';
  const notification = new Notification(missed ? `Missed call from ${who}` : `New text from ${who}`, {
    body: missed ? 'Open the conversation to call or text back.' : (text ?? 'Open the conversation to reply.'),
    tag: `lead-${leadId}`,
  });
  notification.onclick = () => {
    window.focus();
    open(leadId);
    notification.close();
  };
}

/**
 * Follows arrivals: notifies each once (a replayed feed event is recognised by its position) and counts
 * those that came while nobody was looking at the inbox; the count clears when the person looks at it.
 * Returns the unread count.
 */
export function useArrivalAlerts(): number {
  const { path, navigate } = useRouter();
  const [unread, setUnread] = useState(0);
  const seen = useRef(new Set<string>());
  const onInbox = path.startsWith('/app/leads');
  const state = useRef({ onInbox, navigate });
  state.current = { onInbox, navigate };
  useEffect(() => {
    const clear = () => {
      if (state.current.onInbox && looking()) setUnread(0);
    };
    clear();
    document.addEventListener('visibilitychange', clear);
    window.addEventListener('focus', clear);
    return () => {
      document.removeEventListener('visibilitychange', clear);
      window.removeEventListener('focus', clear);
    };
  }, [onInbox]);
  useEffect(() => {
    const onArrival = (event: Event) => {
      const arrival = (event as CustomEvent<Arrival>).detail;
      if (seen.current.has(arrival.id)) return;
      seen.current.add(arrival.id);
      if (!(state.current.onInbox && looking())) setUnread((n) => n + 1);
      void notify(arrival, (leadId) => state.current.navigate(`/app/leads/${leadId}`));
    };
    window.addEventListener(ARRIVAL_EVENT, onArrival);
    return () => window.removeEventListener(ARRIVAL_EVENT, onArrival);
  }, []);
  return unread;
}

/** The tab's title: "(3) Inbox — CallSnare" while 3 calls or texts are unseen. */
export function useDocumentTitle(page: string, unread: number): void {
  useEffect(() => {
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${page ? `${page} — ` : ''}CallSnare`;
  }, [page, unread]);
}

/**
 * The inbox's offer to notify: asked only when the person clicks (browsers ignore or penalise a prompt on
 * load), shown while the browser has not been told yet; a refusal is said once, with where to change it.
 */
export function NotifyPrompt() {
  const [permission, setPermission] = useState<NotificationPermission | 'unsupported'>(() =>
    supported() ? Notification.permission : 'unsupported',
  );
  const [asked, setAsked] = useState(false);
  if (permission === 'unsupported' || permission === 'granted' || (permission === 'denied' && !asked)) return null;
  const ask = async () => {
    setAsked(true);
    setPermission(await Notification.requestPermission());
  };
  return (
    <div className="notify-prompt" data-testid="notify-prompt">
      {permission === 'denied' ? (
        <p role="status">Notifications are blocked for this site: allow them in the browser’s site settings.</p>
      ) : (
        <>
          <p>Hear about new calls and texts while this tab is open, even in the background.</p>
          <button type="button" onClick={() => void ask()}>
            Get notified of new calls
          </button>
        </>
      )}
    </div>
  );
}
