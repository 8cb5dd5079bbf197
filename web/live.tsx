import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { rememberPosition } from './api.ts';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/**
 * Follows the org's events over Server-Sent Events (`GET /app/events`). The browser's EventSource
 * reconnects by itself and sends Last-Event-ID, so nothing is missed. Each event's id (its position)
 * becomes the Consistency-Token of the refetches it triggers, so they see the event in the read models.
 */
export function useLiveEvents(enabled: boolean): LiveState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource('/app/events');
    let pending: ReturnType<typeof setTimeout> | undefined;
    const onEvent = (event: MessageEvent) => {
      rememberPosition(event.lastEventId);
      // One refetch for a burst of events.
      if (pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      }, 150);
    };
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.onmessage = onEvent;
    // Events may be named after their type; listen to the ones the pages show.
    for (const type of LIVE_TYPES) source.addEventListener(type, onEvent as EventListener);
    return () => {
      if (pending) clearTimeout(pending);
      source.close();
    };
  }, [enabled, queryClient]);
  return state;
}

const LIVE_TYPES = [
  'MissedCallRecorded',
  'InboundTextReceived',
  'OutboundTextSent',
  'OutboundTextFailed',
  'OutboundTextRequested',
  'MessageStatusUpdated',
  'TextBackSent',
  'TextBackSkipped',
  'TextBackFailed',
  'LeadCreated',
  'LeadOpened',
  'LeadStatusChanged',
  'LeadBookingLinked',
  'BookingCreated',
  'BookingRescheduled',
  'BookingCanceled',
  'ConfirmationSent',
  'ConfirmationSkipped',
  'ConfirmationFailed',
  'ReminderSent',
  'ReminderSkipped',
  'ReminderFailed',
  'OrgSettingsChanged',
  'MemberAdded',
  'MemberRoleChanged',
  'CredentialIssued',
  'CredentialRevoked',
];

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
