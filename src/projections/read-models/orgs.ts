import { type Org, type OrgEvent, type OrgState, evolve, orgStream } from '../../domain/org.ts';
import { toEnvelope } from '../../eventstore/envelope.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { storedStates, type Projection } from '../projection.ts';

/** `orgs` (settings, billing, members as state) and `org_phones` (webhook routing). */
export const orgsProjection: Projection = {
  name: 'orgs',
  filter: { streamPrefixes: ['org-'] },
  tables: ['orgs', 'org_phones'],
  async apply(q, events) {
    const states = await storedStates<OrgState>(q, 'orgs', events, (e) => (e.data as { orgId: string }).orgId, orgStream);
    // The last claim or release of each number in this batch decides its row.
    const phones = new Map<string, string | null>();
    const updatedAt = new Map<string, string>();
    for (const event of events as RecordedEvent<OrgEvent>[]) {
      const id = event.data.orgId;
      states.set(id, evolve(states.get(id) ?? null, toEnvelope(event)));
      updatedAt.set(id, event.metadata.occurredAt);
      if (event.type === 'OrgCreated') for (const phone of event.data.phones) phones.set(phone, id);
      if (event.type === 'OrgPhoneAdded') phones.set(event.data.phone, id);
      if (event.type === 'OrgPhoneRemoved' && phones.get(event.data.phone) !== event.data.movedTo) phones.set(event.data.phone, null);
    }
    const values = [...states.values()]
      .filter((o): o is Org => o !== null)
      .map((o) => ({
        id: o.id,
        name: o.name,
        timezone: o.timezone,
        billing_status: o.billingStatus,
        stripe_customer_id: o.stripeCustomerId ?? null,
        state: JSON.stringify(o),
        version: o.version,
        created_at: o.createdAt,
        updated_at: updatedAt.get(o.id)!,
      }));
    if (values.length) {
      await q
        .insertInto('orgs')
        .values(values)
        .onConflict((c) =>
          c.column('id').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            timezone: eb.ref('excluded.timezone'),
            billing_status: eb.ref('excluded.billing_status'),
            stripe_customer_id: eb.ref('excluded.stripe_customer_id'),
            state: eb.ref('excluded.state'),
            version: eb.ref('excluded.version'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    // A number moves to the org that claimed it last; a released one leaves its org (unless claimed since).
    const latest = [...phones].filter(([, org]) => org !== null).map(([phone, org]) => ({ phone, org_id: org! }));
    for (const [phone, org] of phones) {
      if (org !== null) continue;
      const released = events.filter((e) => e.type === 'OrgPhoneRemoved' && (e.data as { phone: string }).phone === phone).at(-1)!;
      await q
        .deleteFrom('org_phones')
        .where('phone', '=', phone)
        .where('org_id', '=', (released.data as { orgId: string }).orgId)
        .execute();
    }
    if (latest.length) {
      await q
        .insertInto('org_phones')
        .values(latest)
        .onConflict((c) => c.column('phone').doUpdateSet((eb) => ({ org_id: eb.ref('excluded.org_id') })))
        .execute();
    }
  },
};
