import type { ConsentEvent } from '../../domain/consent.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { Projection } from '../projection.ts';

/** `contact_consent`: each contact's latest consent (status, since, source), for lead lists and details. */
export const contactConsentProjection: Projection = {
  name: 'contact_consent',
  filter: { streamPrefixes: ['consent-'], eventTypes: ['ContactOptedOut', 'ContactOptedIn'] },
  tables: ['contact_consent'],
  async apply(q, events) {
    for (const event of events as RecordedEvent<ConsentEvent>[]) {
      const row = {
        org_id: event.data.orgId,
        phone: event.data.phone,
        status: event.type === 'ContactOptedOut' ? ('opted_out' as const) : ('opted_in' as const),
        since: event.metadata.occurredAt,
        source: event.data.source,
      };
      await q
        .insertInto('contact_consent')
        .values(row)
        .onConflict((c) => c.columns(['org_id', 'phone']).doUpdateSet({ status: row.status, since: row.since, source: row.source }))
        .execute();
    }
  },
};
