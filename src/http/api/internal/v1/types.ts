/**
 * What the internal API's routes answer, named once: the web app's client (client/types.ts) imports these
 * type-only, so the browser's shapes are the server's and a renamed field fails the client's type check.
 * Nothing here is runtime code.
 */
import type { listLeads } from '../../../../queries/leads.ts';
import type { listBookings } from '../../../../queries/bookings.ts';
import type { MemberRole } from '../../../../domain/events/org.ts';

export type { Booking } from '../../../../domain/booking.ts';
export type { BookingEvidence } from '../../../../queries/bookings.ts';
export type { AnyEventType } from '../../../../domain/events/index.ts';
export type { LeadStatus } from '../../../../domain/events/lead.ts';
export type { MemberRole, WebhookEventType } from '../../../../domain/events/org.ts';
export type { Actor } from '../../../../domain/values.ts';
export type { AuditEvent } from '../../../../queries/audit.ts';
export type { AssigneeCounts, ConsentSummary, InboxLead, LeadRow, LinkedBooking, TimelineEntry } from '../../../../queries/leads.ts';
export type { SettingsView } from '../../../../queries/settings.ts';
export type { WebhookDeliveryView, WebhookEndpointView } from '../../../../queries/webhooks.ts';

/** GET /leads: a page of inbox rows and how many each assignee filter holds. */
export type LeadPage = Awaited<ReturnType<typeof listLeads>>;
/** GET /bookings: a page of bookings. */
export type BookingPage = Awaited<ReturnType<typeof listBookings>>;

/** GET /app/session: the signed-in person, with the CSRF token the app must echo on writes. */
export interface SessionView {
  readonly memberId: string;
  readonly email: string;
  readonly role: MemberRole;
  readonly orgId: string;
  readonly orgName: string;
  readonly timezone: string;
  readonly csrfToken: string | null;
  readonly expiresAt: string | null;
}
