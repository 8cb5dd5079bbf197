/**
 * Shapes of the internal API the pages read (CONTRACT §3, §5, §7, §10): the server's own types, imported
 * type-only from src/http/api/internal/v1/types.ts (nothing of the server is bundled), so a field the server
 * renames or drops fails this client's type check instead of showing blanks.
 */
import type * as Server from '../src/http/api/internal/v1/types.ts';

export type Role = Server.MemberRole;
export type Me = Server.SessionView;
export type Actor = Server.Actor;
export type Consent = Server.ConsentSummary;
export type TimelineEntry = Server.TimelineEntry;
export type LinkedBooking = Server.LinkedBooking;
export type Lead = Server.LeadRow;
export type LeadDetail = Server.InboxLead;
export type LeadPage = Server.LeadPage;
export type EventType = Server.AnyEventType;
export type WebhookEventType = Server.WebhookEventType;
/** Who owns a lead (CONTRACT §10); null: nobody. */
export type Assignee = NonNullable<Lead['assignee']>;
/** A booking, with its evidence when read one at a time. */
export type Booking = Server.Booking & { evidence?: Server.BookingEvidence[] };

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
