import type { Envelope } from './envelope.ts';
import { NotFoundError } from './errors.ts';
import type { AnyEventType, EventOf } from './events/index.ts';
import type { WebhookEventType } from './events/org.ts';
import type { OrgEvent } from './org.ts';

/** The outbound webhook endpoints of an org as its stream tells them (null: no org). */
export type WebhookEndpointsState = {
  readonly endpoints: Readonly<Record<string, { readonly status: 'active' | 'disabled' | 'removed'; readonly rotations: number }>>;
} | null;

type WebhookEndpointEvent = EventOf<'WebhookEndpointAdded' | 'WebhookEndpointRemoved' | 'WebhookEndpointDisabled' | 'WebhookSecretRotated'>;

/** Commands on an org's webhook endpoints; `now` is the clock of the command. */
export type WebhookEndpointCommand =
  | {
      type: 'AddWebhookEndpoint';
      now: string;
      data: { orgId: string; endpointId: string; url: string; events: WebhookEventType[]; description?: string; secretFingerprint: string };
    }
  | { type: 'RemoveWebhookEndpoint'; now: string; data: { orgId: string; endpointId: string } }
  | { type: 'DisableWebhookEndpoint'; now: string; data: { orgId: string; endpointId: string; reason: string } }
  | { type: 'RotateWebhookSecret'; now: string; data: { orgId: string; endpointId: string; secretFingerprint: string } };

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_VALID_MS = 24 * 3600 * 1000;

/** Folds the org stream's endpoint events (other org events change nothing here). */
export function evolve(state: WebhookEndpointsState, event: Envelope<OrgEvent>): WebhookEndpointsState {
  if (event.type === 'OrgCreated') return { endpoints: {} };
  if (!state) return state;
  const set = (id: string, change: Partial<{ status: 'active' | 'disabled' | 'removed'; rotations: number }>) => {
    const current = state.endpoints[id] ?? { status: 'active' as const, rotations: 0 };
    return { endpoints: { ...state.endpoints, [id]: { ...current, ...change } } };
  };
  switch (event.type) {
    case 'WebhookEndpointAdded':
      return set(event.data.endpointId, { status: 'active', rotations: 0 });
    case 'WebhookEndpointRemoved':
      return set(event.data.endpointId, { status: 'removed' });
    case 'WebhookEndpointDisabled':
      return set(event.data.endpointId, { status: 'disabled' });
    case 'WebhookSecretRotated':
      return set(event.data.endpointId, { rotations: (state.endpoints[event.data.endpointId]?.rotations ?? 0) + 1 });
    case 'OrgPhoneAdded':
    case 'OrgPhoneRemoved':
    case 'OrgSettingsChanged':
    case 'OrgStripeCustomerLinked':
    case 'OrgBillingStatusChanged':
    case 'MemberAdded':
    case 'MemberRoleChanged':
    case 'MemberRemoved':
      return state;
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Decides a command on the endpoints; an endpoint removed (or never added) is not found. */
export function decide(command: WebhookEndpointCommand, state: WebhookEndpointsState): WebhookEndpointEvent[] {
  if (!state) throw new NotFoundError('org not found');
  const existing = (id: string) => {
    const endpoint = state.endpoints[id];
    if (!endpoint || endpoint.status === 'removed') throw new NotFoundError('webhook endpoint not found');
    return endpoint;
  };
  switch (command.type) {
    case 'AddWebhookEndpoint':
      if (state.endpoints[command.data.endpointId]) return [];
      return [{ type: 'WebhookEndpointAdded', data: command.data }];
    case 'RemoveWebhookEndpoint':
      existing(command.data.endpointId);
      return [{ type: 'WebhookEndpointRemoved', data: command.data }];
    case 'DisableWebhookEndpoint':
      if (existing(command.data.endpointId).status !== 'active') return [];
      return [{ type: 'WebhookEndpointDisabled', data: command.data }];
    case 'RotateWebhookSecret': {
      existing(command.data.endpointId);
      const previousValidUntil = new Date(Date.parse(command.now) + PREVIOUS_SECRET_VALID_MS).toISOString();
      return [{ type: 'WebhookSecretRotated', data: { ...command.data, previousValidUntil } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The webhook type each event of the log is delivered as (CONTRACT §9). Booking and lead events are about
 * their own stream; a contact's opt-out (consent stream) is `lead.opted_out` about the caller's lead of
 * that moment (automation/webhook-deliveries.ts). An opt-in has no webhook type in §9: it is not sent.
 */
export const WEBHOOK_TYPE_OF = {
  BookingCreated: 'booking.created',
  BookingRescheduled: 'booking.rescheduled',
  BookingCanceled: 'booking.canceled',
  ConfirmationSent: 'booking.confirmation_sent',
  ReminderSent: 'booking.reminder_sent',
  LeadOpened: 'lead.created',
  LeadStatusChanged: 'lead.status_changed',
  ContactOptedOut: 'lead.opted_out',
} as const satisfies Partial<Record<AnyEventType, WebhookEventType>>;

/** An event type that becomes a webhook. */
export type WebhookSourceEvent = keyof typeof WEBHOOK_TYPE_OF;
