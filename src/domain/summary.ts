import type { DomainEvent } from './events/index.ts';

const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, 'Z');

/** Quoted words of a person, cut at 80 characters. */
const quote = (text: string) => `"${text.length > 80 ? `${text.slice(0, 79)}…` : text}"`;

/** The one-line, human description of an event: the audit timeline's and the lead timeline's (one wording). */
export function summarize(event: DomainEvent): string {
  switch (event.type) {
    case 'BookingCreated':
      return `booking for ${event.data.customer.name} (${event.data.customer.phone}) ${when(event.data.window.start)}–${when(event.data.window.end)}`;
    case 'BookingRescheduled':
      return `moved from ${when(event.data.previousWindow.start)} to ${when(event.data.window.start)}${event.data.reason ? `: ${event.data.reason}` : ''}`;
    case 'BookingCanceled':
      return `canceled${event.data.reason ? `: ${event.data.reason}` : ''}`;
    case 'ConfirmationSent':
      return `confirmation sent to ${event.data.to}`;
    case 'ConfirmationSkipped':
      return `confirmation skipped: ${event.data.reason}`;
    case 'ConfirmationFailed':
      return `confirmation failed: ${event.data.error}`;
    case 'ReminderSent':
      return `reminder (${event.data.offsetMinutes} min before) sent to ${event.data.to}`;
    case 'ReminderSkipped':
      return `reminder (${event.data.offsetMinutes} min before) skipped: ${event.data.reason}`;
    case 'ReminderFailed':
      return `reminder (${event.data.offsetMinutes} min before) failed: ${event.data.error}`;
    case 'BookingTextDeferred':
    case 'LeadTextDeferred':
      return `${event.data.kind.replace(/_/g, ' ')} deferred to ${when(event.data.until)}: ${event.data.reason}`;
    case 'BookingNoticeSent':
      return `${event.data.kind} notice sent to ${event.data.to}`;
    case 'LeadOpened':
      return `lead opened for ${event.data.callerPhone} (${event.data.source.replace('_', ' ')})`;
    case 'MissedCallRecorded':
      return `missed call from ${event.data.from} (${event.data.callStatus})`;
    case 'InboundTextReceived':
      return `text from ${event.data.from}${event.data.flag ? ' (possible opt-out: the team decides)' : ''}: ${quote(event.data.body)}`;
    case 'OutboundTextRecorded':
    case 'OutboundTextRequested':
      return `text to ${event.data.to}: ${quote(event.data.body)}`;
    case 'OutboundTextSent':
      return `text sent to ${event.data.to} (${event.data.providerMessageId})`;
    case 'OutboundTextFailed':
      return `text failed: ${event.data.error}`;
    case 'TextBackSent':
      return `text-back to ${event.data.to}: ${quote(event.data.body)}`;
    case 'TextBackSkipped':
      return `text-back skipped: ${event.data.reason}`;
    case 'TextBackFailed':
      return `text-back failed: ${event.data.error}`;
    case 'MessageDeliveryUpdated':
      return `message ${event.data.messageSid} ${event.data.status}`;
    case 'LeadStatusChanged':
      return `status ${event.data.from} → ${event.data.to}${event.data.reason ? ` (${event.data.reason})` : ''}`;
    case 'LeadSuperseded':
      return `closed; the caller's next contact opens lead ${event.data.nextLeadId}`;
    case 'CallBackLogged':
      return `called back: ${event.data.outcome.replace('_', ' ')}${event.data.note ? ` (${quote(event.data.note)})` : ''}`;
    case 'LeadResponseOverdue':
      return `no team response by ${when(event.data.dueAt)}`;
    case 'LeadAssigned':
      return `assigned to ${event.data.label}${event.data.reason === 'reply' ? ' (replied first)' : event.data.reason === 'round_robin' ? ' (round robin)' : ''}`;
    case 'LeadUnassigned':
      return 'unassigned';
    case 'LeadBookingLinked':
      return `booking ${event.data.bookingId} linked`;
    case 'OrgCreated':
      return `org "${event.data.name}" created (${event.data.timezone})`;
    case 'OrgPhoneAdded':
      return `business number ${event.data.phone} added${event.data.movedFrom ? ` (moved from org ${event.data.movedFrom})` : ''}`;
    case 'OrgPhoneRemoved':
      return `business number ${event.data.phone} moved to org ${event.data.movedTo}`;
    case 'OrgSettingsChanged':
      return `settings changed: ${Object.keys(event.data.changes).join(', ')}`;
    case 'OrgStripeCustomerLinked':
      return `Stripe customer ${event.data.stripeCustomerId} linked`;
    case 'OrgBillingStatusChanged':
      return `billing ${event.data.previousStatus ?? '?'} → ${event.data.status}`;
    case 'MemberAdded':
      return `member ${event.data.email} added as ${event.data.role}`;
    case 'MemberRemoved':
      return `member ${event.data.email} (${event.data.role}) removed`;
    case 'MemberRoleChanged':
      return `member ${event.data.memberId} role ${event.data.from} → ${event.data.to}`;
    case 'WebhookEndpointAdded':
      return `webhook endpoint ${event.data.url} added (${event.data.events.join(', ')}; secret ${event.data.secretFingerprint})`;
    case 'WebhookEndpointRemoved':
      return `webhook endpoint ${event.data.endpointId} removed`;
    case 'WebhookEndpointDisabled':
      return `webhook endpoint ${event.data.endpointId} disabled: ${event.data.reason}`;
    case 'WebhookSecretRotated':
      return `webhook endpoint ${event.data.endpointId} secret rotated (now ${event.data.secretFingerprint}; the previous one signs until ${when(event.data.previousValidUntil)})`;
    case 'CredentialIssued':
      return `${event.data.kind} credential "${event.data.label}" issued${event.data.scopes.length ? ` (${event.data.scopes.join(', ')})` : ''}${event.data.role ? ` (${event.data.role})` : ''}`;
    case 'CredentialRevoked':
      return `credential revoked${event.data.reason ? `: ${event.data.reason}` : ''}`;
    case 'ContactOptedOut':
      return `${event.data.phone} opted out (${event.data.source}${event.data.evidence.body !== undefined ? `: "${event.data.evidence.body.slice(0, 60)}"` : ''}${event.data.evidence.errorCode ? `: error ${event.data.evidence.errorCode}` : ''})`;
    case 'ContactOptedIn':
      return `${event.data.phone} opted in (${event.data.source}${event.data.evidence.body !== undefined ? `: "${event.data.evidence.body.slice(0, 60)}"` : ''})`;
    default: {
      const unknown: never = event;
      return `unknown event ${(unknown as { type: string }).type}`;
    }
  }
}
