import type { Delivery, Lead, LeadAggregate } from '../domain/lead.ts';
import { toLeadView } from '../domain/lead.ts';
import type { LeadStatus } from '../domain/events/lead.ts';
import type { Actor } from '../domain/values.ts';
import type { Db } from '../db/kysely.ts';
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
}

/** A lead with its timeline, oldest entry first. */
export type LeadDetail = Lead & { timeline: TimelineEntry[] };

/** Filters of {@link listLeads}. */
export interface ListLeadsInput {
  readonly statuses?: readonly LeadStatus[];
  readonly limit: number;
  readonly cursor?: string;
}

const iso = (value: Date | string) => new Date(value).toISOString();


/** An org's leads, most recent activity first (then id), keyset-paginated. */
export async function listLeads(db: Db, orgId: string, input: ListLeadsInput): Promise<{ data: Lead[]; nextCursor: string | null }> {
  let query = db.selectFrom('leads').select('state').where('org_id', '=', orgId);
  if (input.statuses?.length) query = query.where('status', 'in', [...input.statuses]);
  if (input.cursor) {
    const [at, id] = decodeCursor(input.cursor);
    query = query.where((eb) => eb.or([eb('last_activity_at', '<', at), eb.and([eb('last_activity_at', '=', at), eb('id', '<', id)])]));
  }
  const rows = await query.orderBy('last_activity_at', 'desc').orderBy('id', 'desc').limit(input.limit + 1).execute();
  const data = rows.slice(0, input.limit).map((r) => toLeadView(r.state as LeadAggregate));
  return { data, nextCursor: rows.length > input.limit ? encodeCursor(data.at(-1)!.lastActivityAt, data.at(-1)!.id) : null };
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
    const delivery = e.message_id === null ? undefined : lead.deliveries[e.message_id];
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
    };
  });
  return { ...toLeadView(lead), timeline };
}
