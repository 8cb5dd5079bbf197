import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { rememberPosition } from './api.ts';
import type { EventType } from './types.ts';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/**
 * Follows the org's events over Server-Sent Events (`GET /app/events`). The browser's EventSource
 * reconnects by itself and sends Last-Event-ID, so nothing is missed. Each event's id (its position)
 * becomes the Consistency-Token of the refetches it triggers, so they see the event in the read models.
 */
export function useLiveEvents(enabled: boolean): LiveState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');
  // Bumped when the server says our resume point is too old: a fresh EventSource sends no Last-Event-ID.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource('/app/events');
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refetch = () => {
      // One refetch for a burst of events.
      if (pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      }, 150);
    };
    const onEvent = (event: MessageEvent) => {
      rememberPosition(event.lastEventId);
      refetch();
    };
    source.onopen = () => {
      setState('live');
      // Events between the page's load and this connection are not replayed: catch up once.
      refetch();
    };
    source.onerror = () => setState('reconnecting');
    source.onmessage = onEvent;
    // The server names each message after its event type; listen to the ones the pages show.
    for (const type of LIVE_TYPES) source.addEventListener(type, onEvent as EventListener);
    // The server ended the stream because this session may no longer read it: re-check the session, which
    // sends a signed-out person to the sign-in page (a role change reconnects with the new role).
    source.addEventListener('signed-out', () => {
      source.close();
      void queryClient.invalidateQueries();
      setGeneration((g) => g + 1);
    });
    source.addEventListener('reset', () => {
      source.close();
      refetch();
      setGeneration((g) => g + 1);
    });
    return () => {
      if (pending) clearTimeout(pending);
      source.close();
    };
  }, [enabled, queryClient, generation]);
  return state;
}

// Every event type of the catalog (src/domain/events), checked against the server's type-only: an event type
// added there fails this client's type check until it is listed (the browser bundle does not carry the zod catalog).
const EVENT_NAMES: Record<EventType, true> = {
  BookingCanceled: true,
  BookingCreated: true,
  BookingNoticeSent: true,
  BookingRescheduled: true,
  BookingTextDeferred: true,
  CallBackLogged: true,
  ConfirmationFailed: true,
  ConfirmationSent: true,
  ConfirmationSkipped: true,
  ContactOptedIn: true,
  ContactOptedOut: true,
  CredentialIssued: true,
  CredentialRevoked: true,
  InboundTextReceived: true,
  LeadAssigned: true,
  LeadBookingLinked: true,
  LeadOpened: true,
  LeadResponseOverdue: true,
  LeadStatusChanged: true,
  LeadSuperseded: true,
  LeadTextDeferred: true,
  LeadUnassigned: true,
  MemberAdded: true,
  MemberRemoved: true,
  MemberRoleChanged: true,
  MessageDeliveryUpdated: true,
  MissedCallRecorded: true,
  OrgBillingStatusChanged: true,
  OrgCreated: true,
  OrgPhoneAdded: true,
  OrgPhoneRemoved: true,
  OrgSettingsChanged: true,
  OrgStripeCustomerLinked: true,
  OutboundTextFailed: true,
  OutboundTextRecorded: true,
  OutboundTextRequested: true,
  OutboundTextSent: true,
  ReminderFailed: true,
  ReminderSent: true,
  ReminderSkipped: true,
  TextBackFailed: true,
  TextBackSent: true,
  TextBackSkipped: true,
  WebhookEndpointAdded: true,
  WebhookEndpointDisabled: true,
  WebhookEndpointRemoved: true,
  WebhookSecretRotated: true,
};
const LIVE_TYPES = Object.keys(EVENT_NAMES);

/** The connection indicator in the header (a live region, so screen readers hear changes). */
export function LiveIndicator({ state }: { state: LiveState }) {
  const label = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className={`live live-${state}`} role="status" aria-live="polite" data-testid="live-indicator" data-state={state}>
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
