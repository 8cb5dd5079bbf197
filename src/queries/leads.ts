import type { Booking } from '../domain/booking.ts';
import { type LeadSummary, summarizeLead } from '../domain/lead-summary.ts';
import type { Delivery, Lead, LeadAggregate, RequestedMessage } from '../domain/lead.ts';
import { toLeadView } from '../domain/lead.ts';
import type { LeadStatus } from '../domain/events/lead.ts';
import type { Actor } from '../domain/values.ts';
import type { Db } from '../db/kysely.ts';
import { sql } from 'kysely';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** One entry of a lead's timeline. */
export interface TimelineEntry {
  readonly id: string;
  readonly revision: number;
  readonly kind: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly summary: string;
  readonly details: Record<string, unknown>;
  /** Latest delivery report of an outbound text. */
  readonly delivery?: Delivery;
  /** A text a team member asked for: where it stands (queued, sent, failed). */
  readonly message?: { readonly state: RequestedMessage['state']; readonly providerMessageId?: string; readonly error?: string };
}

/** A lead with its timeline, oldest entry first. */
export type LeadDetail = Lead & { timeline: TimelineEntry[] };

/** Filters of {@link listLeads}. */
export interface ListLeadsInput {
  readonly statuses?: readonly LeadStatus[];
  /** Part of the caller's phone number (digits) or of a linked booking's customer name, any case. */
  readonly q?: string;
  /** `newest`: latest activity first; `waiting`: longest-waiting first (leads nobody has answered), then the rest. */
  readonly order?: 'newest' | 'waiting';
  /** Only leads of this member, or (`none`) only unassigned leads. */
  readonly assignee?: string;
  /** The member reading: `unread` is computed for them. */
  readonly memberId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

/** The caller's consent to texts (CONTRACT §8): `unknown` until they said either way. */
export interface ConsentSummary {
  readonly status: 'unknown' | 'opted_out' | 'opted_in';
  readonly since: string | null;
  readonly source: string | null;
}

/** A row of the inbox list: the lead, the customer name a booking gave it, the reader's unread flag and the caller's consent. */
export type LeadRow = Lead & { callerName: string | null; waitingSince: string | null; unread: boolean; consent: ConsentSummary };

const iso = (value: Date | string) => new Date(value).toISOString();
/** Sort key of leads nobody waits on in `waiting` order: after every waiting one. */
const NOT_WAITING = '9999-12-31T00:00:00.000Z';

/** `%`, `_` and `\` are literal in a search term. */
const likeTerm = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The name of the customer of the lead's latest booking, if any. */
const callerNameOf = sql<string | null>`(select b.state->'customer'->>'name' from bookings b
  where b.org_id = leads.org_id and b.lead_id = leads.id order by b.updated_at desc limit 1)`;

/** The caller's consent row (`contact_consent`), as JSON, or null. */
const consentOf = sql<{ status: 'opted_out' | 'opted_in'; since: string; source: string } | null>`(select json_build_object(
  'status', c.status, 'since', c.since, 'source', c.source) from contact_consent c
  where c.org_id = leads.org_id and c.phone = leads.caller_phone)`;

function toConsent(row: { status: 'opted_out' | 'opted_in'; since: string; source: string } | null): ConsentSummary {
  return row ? { status: row.status, since: iso(row.since), source: row.source } : { status: 'unknown', since: null, source: null };
}

/** The consent of one phone in an org, as the `contact_consent` read model has it. */
export async function getConsent(db: Db, orgId: string, phone: string): Promise<ConsentSummary> {
  const row = await db
    .selectFrom('contact_consent')
    .select(['status', 'since', 'source'])
    .where('org_id', '=', orgId)
    .where('phone', '=', phone)
    .executeTakeFirst();
  return row ? { status: row.status, since: iso(row.since), source: row.source } : { status: 'unknown', since: null, source: null };
}

/** Whether the member has not yet seen the lead's last inbound contact. */
function unreadOf(memberId: string | undefined) {
  if (!memberId) return sql<boolean>`leads.last_inbound_at is not null`;
  return sql<boolean>`(leads.last_inbound_at is not null and not exists (select 1 from lead_reads r
    where r.member_id = ${memberId} and r.lead_id = leads.id and r.read_up_to >= leads.last_inbound_at))`;
}

function toRow(r: {
  state: unknown;
  caller_name: string | null;
  unread: boolean;
  consent: { status: 'opted_out' | 'opted_in'; since: string; source: string } | null;
}): LeadRow {
  const lead = toLeadView(r.state as LeadAggregate);
  return { ...lead, waitingSince: lead.waitingSince ?? null, callerName: r.caller_name, unread: r.unread, consent: toConsent(r.consent) };
}

/** How many leads each assignee filter holds (for the reader, with the same status filter and search). */
export interface AssigneeCounts {
  readonly mine: number;
  readonly unassigned: number;
  readonly all: number;
}

/** An org's leads for the inbox: filtered, searched, newest or longest-waiting first, keyset-paginated. */
export async function listLeads(
  db: Db,
  orgId: string,
  input: ListLeadsInput,
): Promise<{ data: LeadRow[]; nextCursor: string | null; counts: AssigneeCounts }> {
  const waiting = input.order === 'waiting';
  const key = waiting ? sql<Date>`coalesce(leads.waiting_since, ${NOT_WAITING}::timestamptz)` : sql<Date>`leads.last_activity_at`;
  let base = db.selectFrom('leads').where('org_id', '=', orgId);
  if (input.statuses?.length) base = base.where('status', 'in', [...input.statuses]);
  const q = input.q?.trim();
  if (q) {
    const digits = q.replace(/\D/g, '');
    base = base.where((eb) =>
      eb.or([
        ...(digits.length >= 2 ? [eb('caller_phone', 'like', likeTerm(digits))] : []),
        sql<boolean>`exists (select 1 from bookings b where b.org_id = leads.org_id and b.lead_id = leads.id and b.state->'customer'->>'name' ilike ${likeTerm(q)})`,
      ]),
    );
  }
  const counting = () =>
    base
      .select([
        sql<string>`count(*) filter (where leads.assignee_id::text = ${input.memberId ?? ''})`.as('mine'),
        sql<string>`count(*) filter (where leads.assignee_id is null)`.as('unassigned'),
        sql<string>`count(*)`.as('all'),
      ])
      .executeTakeFirstOrThrow();
  let query = base.select(['state', callerNameOf.as('caller_name'), unreadOf(input.memberId).as('unread'), consentOf.as('consent')]);
  if (input.assignee === 'none') query = query.where('assignee_id', 'is', null);
  else if (input.assignee) query = query.where('assignee_id', '=', input.assignee);
  if (input.cursor) {
    const [at, id] = decodeCursor(input.cursor);
    query = waiting
      ? query.where(sql<boolean>`(${key}, leads.id) > (${at}::timestamptz, ${id}::uuid)`)
      : query.where(sql<boolean>`(${key}, leads.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  const [rows, c] = await Promise.all([
    (waiting ? query.orderBy(key, 'asc').orderBy('id', 'asc') : query.orderBy(key, 'desc').orderBy('id', 'desc'))
      .limit(input.limit + 1)
      .execute(),
    counting(),
  ]);
  const data = rows.slice(0, input.limit).map(toRow);
  const last = data.at(-1);
  const nextCursor =
    rows.length > input.limit && last ? encodeCursor(waiting ? (last.waitingSince ?? NOT_WAITING) : last.lastActivityAt, last.id) : null;
  return { data, nextCursor, counts: { mine: Number(c.mine), unassigned: Number(c.unassigned), all: Number(c.all) } };
}

/**
 * Marks a lead read for a member up to its last inbound contact (as the read model has it now); a marker
 * never moves back. False when the org has no such lead.
 */
export async function markLeadRead(db: Db, orgId: string, leadId: string, memberId: string): Promise<boolean> {
  const lead = await db
    .selectFrom('leads')
    .select(['last_inbound_at', 'created_at'])
    .where('org_id', '=', orgId)
    .where('id', '=', leadId)
    .executeTakeFirst();
  if (!lead) return false;
  const upTo = lead.last_inbound_at ?? lead.created_at;
  await db
    .insertInto('lead_reads')
    .values({ member_id: memberId, lead_id: leadId, org_id: orgId, read_up_to: upTo })
    .onConflict((c) =>
      c
        .columns(['member_id', 'lead_id'])
        .doUpdateSet({ read_up_to: sql`greatest(lead_reads.read_up_to, excluded.read_up_to)`, updated_at: sql`now()` }),
    )
    .execute();
  return true;
}

/** One lead of an org with its timeline, or undefined (absent and other-org look the same). */
export async function getLeadDetail(db: Db, orgId: string, leadId: string): Promise<LeadDetail | undefined> {
  const row = await db.selectFrom('leads').select('state').where('org_id', '=', orgId).where('id', '=', leadId).executeTakeFirst();
  if (!row) return undefined;
  const lead = row.state as LeadAggregate;
  const entries = await db
    .selectFrom('lead_timeline')
    .select(['event_id', 'revision', 'kind', 'event_type', 'occurred_at', 'actor', 'summary', 'details', 'message_id'])
    .where('org_id', '=', orgId)
    .where('lead_id', '=', leadId)
    .orderBy('revision')
    .execute();
  const timeline = entries.map((e) => {
    const details = e.details as Record<string, unknown>;
    const requested = e.event_type === 'OutboundTextRequested' ? lead.requested?.[details.messageId as string] : undefined;
    const sid = e.message_id ?? requested?.providerMessageId;
    const delivery = sid === undefined ? undefined : lead.deliveries[sid];
    return {
      id: e.event_id,
      revision: e.revision,
      kind: e.kind,
      type: e.event_type,
      occurredAt: iso(e.occurred_at),
      actor: e.actor as Actor,
      summary: e.summary,
      details: e.details as Record<string, unknown>,
      ...(delivery && { delivery }),
      ...(requested && {
        message: {
          state: requested.state,
          ...(requested.providerMessageId && { providerMessageId: requested.providerMessageId }),
          ...(requested.error && { error: requested.error }),
        },
      }),
    };
  });
  return { ...toLeadView(lead), timeline };
}

/** What the inbox's lead pane shows: the lead, its timeline, its open bookings and the summary with the next action. */
export type InboxLead = LeadDetail & {
  callerName: string | null;
  waitingSince: string | null;
  unread: boolean;
  consent: ConsentSummary;
  openBookings: Booking[];
  /** Every booking linked to the lead (any status): the thread names each by its window. */
  linkedBookings: LinkedBooking[];
  summary: LeadSummary;
};

/** A booking as the thread mentions it. */
export interface LinkedBooking {
  readonly id: string;
  readonly status: Booking['status'];
  readonly window: Booking['window'];
  readonly timezone: string;
}

/** One lead for the inbox at `now`, read by `memberId`; undefined when the org has no such lead. */
export async function getInboxLead(
  db: Db,
  orgId: string,
  leadId: string,
  reader: { memberId?: string; now: string },
): Promise<InboxLead | undefined> {
  const detail = await getLeadDetail(db, orgId, leadId);
  if (!detail) return undefined;
  const { timeline, ...lead } = detail;
  const flags = await db
    .selectFrom('leads')
    .select([callerNameOf.as('caller_name'), unreadOf(reader.memberId).as('unread'), consentOf.as('consent')])
    .where('org_id', '=', orgId)
    .where('id', '=', leadId)
    .executeTakeFirstOrThrow();
  const bookings = await db
    .selectFrom('bookings')
    .select('state')
    .where('org_id', '=', orgId)
    .where('status', '=', 'scheduled')
    .where((eb) => eb.or([eb('lead_id', '=', leadId), ...(lead.bookingIds.length ? [eb('id', 'in', lead.bookingIds)] : [])]))
    .orderBy('window_start')
    .execute();
  const linked = lead.bookingIds.length
    ? await db.selectFrom('bookings').select('state').where('org_id', '=', orgId).where('id', 'in', lead.bookingIds).execute()
    : [];
  const summary = summarizeLead(
    lead,
    timeline.map((e) => ({ kind: e.kind, occurredAt: e.occurredAt, summary: e.summary })),
    reader.now,
  );
  return {
    ...detail,
    waitingSince: lead.waitingSince ?? null,
    callerName: flags.caller_name,
    unread: flags.unread,
    consent: toConsent(flags.consent),
    openBookings: bookings.map((b) => b.state as Booking),
    linkedBookings: linked.map(({ state }) => {
      const b = state as Booking;
      return { id: b.id, status: b.status, window: b.window, timezone: b.timezone };
    }),
    summary,
  };
}
