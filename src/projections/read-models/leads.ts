import { type LeadAggregate, type LeadEvent, type LeadState, evolve, leadStream } from '../../domain/lead.ts';
import { toEnvelope } from '../../eventstore/envelope.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { QueryCreator } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PendingRows, storedStates, type Projection } from '../projection.ts';

/** Folds a batch onto the stored leads it touches: the rows to write and the ids already stored. */
async function foldLeads(q: QueryCreator<Database>, events: readonly RecordedEvent[], pending?: PendingRows) {
  const states = await storedStates<LeadState>(q, 'leads', events, (e) => (e.data as { leadId: string }).leadId, leadStream, pending);
  const stored = new Set(states.keys());
  for (const event of events as RecordedEvent<LeadEvent>[]) {
    const id = event.data.leadId;
    states.set(id, evolve(states.get(id) ?? null, toEnvelope(event)));
  }
  const values = [...states.values()]
    .filter((l): l is LeadAggregate => l !== null)
    .map((l) => ({
      id: l.id,
      org_id: l.orgId,
      caller_phone: l.callerPhone,
      generation: l.generation,
      status: l.status,
      missed_calls: l.counts.missedCalls,
      inbound_texts: l.counts.inboundTexts,
      outbound_texts: l.counts.outboundTexts,
      bookings: l.counts.bookings,
      last_activity_at: l.lastActivityAt,
      waiting_since: l.waitingSince ?? null,
      last_inbound_at: l.lastInboundAt ?? null,
      assignee_id: l.assignee?.memberId ?? null,
      state: JSON.stringify(l),
      version: l.version,
      created_at: l.createdAt,
      updated_at: l.updatedAt,
    }));
  return { values, stored };
}

/** `leads`: one row per lead holding the aggregate, plus the columns the list query needs. */
export const leadsProjection: Projection = {
  name: 'leads',
  filter: { streamPrefixes: ['lead-'] },
  tables: ['leads'],
  async apply(q, events) {
    const { values } = await foldLeads(q, events);
    if (!values.length) return;
    await q
      .insertInto('leads')
      .values(values)
      .onConflict((c) =>
        c.column('id').doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          missed_calls: eb.ref('excluded.missed_calls'),
          inbound_texts: eb.ref('excluded.inbound_texts'),
          outbound_texts: eb.ref('excluded.outbound_texts'),
          bookings: eb.ref('excluded.bookings'),
          last_activity_at: eb.ref('excluded.last_activity_at'),
          waiting_since: eb.ref('excluded.waiting_since'),
          last_inbound_at: eb.ref('excluded.last_inbound_at'),
          assignee_id: eb.ref('excluded.assignee_id'),
          state: eb.ref('excluded.state'),
          version: eb.ref('excluded.version'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  },
  async fold(q, events, pending) {
    const { values, stored } = await foldLeads(q, events, pending);
    return [{ table: 'leads', rows: values, replace: { column: 'id', keys: values.filter((v) => stored.has(v.id)).map((v) => v.id) } }];
  },
};
