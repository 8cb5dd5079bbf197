/** Shapes of the internal API the pages read (see CONTRACT §3, §5, §7). */
export type Role = 'owner' | 'admin' | 'member' | 'auditor';

export interface Me {
  memberId: string;
  email: string;
  role: Role;
  orgId: string;
  orgName: string;
  timezone: string;
  csrfToken: string | null;
  expiresAt: string | null;
}

export interface Actor {
  type: string;
  id: string;
  label: string;
}

export interface Lead {
  id: string;
  status: 'active' | 'booked' | 'won' | 'lost';
  callerPhone: string;
  callerName?: string | null;
  waitingSince?: string | null;
  unread?: boolean;
  lastActivityAt: string;
  createdAt: string;
  /** The caller's consent to texts (CONTRACT §8). */
  consent?: Consent;
  /** First-response target (CONTRACT §10). */
  firstResponseDueAt?: string | null;
  firstResponseHalfAt?: string | null;
  firstRespondedAt?: string | null;
  responseBreached?: boolean;
  /** Who owns the lead (CONTRACT §10); null: nobody. */
  assignee?: Assignee | null;
  [key: string]: unknown;
}

export interface Assignee {
  memberId: string;
  label: string;
  since: string;
}

export interface Consent {
  status: 'unknown' | 'opted_out' | 'opted_in';
  since: string | null;
  source: 'keyword' | 'phrase' | 'carrier' | 'provider' | 'member' | null;
}

export interface TimelineEntry {
  id: string;
  kind: string;
  type: string;
  occurredAt: string;
  actor: Actor;
  summary: string;
  details: Record<string, unknown>;
  delivery?: { status: string; errorCode?: string };
  /** A text a team member asked for: where it stands. */
  message?: { state: 'queued' | 'sent' | 'failed'; providerMessageId?: string; error?: string };
}

/** A booking as the thread names it. */
export interface LinkedBooking {
  id: string;
  status: 'scheduled' | 'canceled';
  window: { start: string; end: string };
  timezone: string;
}

export interface Booking {
  id: string;
  status: 'scheduled' | 'canceled';
  window: { start: string; end: string };
  timezone: string;
  customer: { name: string; phone: string; email?: string };
  service?: { type: string; summary?: string };
  notes?: string;
  leadId?: string;
  source: Actor & { actorType?: string; actorId?: string };
  confirmation: { status: string; sentAt?: string };
  reminders: { offsetMinutes: number; dueAt: string; status: string; sentAt?: string }[];
  canceledAt?: string;
  cancelReason?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  evidence?: { type: string; occurredAt: string; summary: string; actor?: Actor }[];
}

export interface LeadDetail extends Lead {
  timeline: TimelineEntry[];
  openBookings?: Booking[];
  linkedBookings?: LinkedBooking[];
  summary?: {
    lastContact: { at: string; kind: string; direction: string } | null;
    happened: { missedCalls: number; inboundTexts: number; outboundTexts: number; bookings: number };
    recent: { kind: string; occurredAt: string; summary: string }[];
    nextAction: { code: string; hint: string };
  } | null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The inbox list: a page of leads and how many each assignee filter holds. */
export interface LeadPage extends Page<Lead> {
  counts: { mine: number; unassigned: number; all: number };
}
