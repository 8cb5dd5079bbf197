import { randomUUID } from 'node:crypto';
import t from 'tap';
import { changeBooking, createBooking } from '../../src/commands/bookings.ts';
import { revokeCredential } from '../../src/identity/index.ts';
import { changeLeadStatus, recordOutboundText } from '../../src/commands/leads.ts';
import { leadIdFor } from '../../src/domain/ids.ts';
import { addMember, changeMemberRole, configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { rebuildProjection } from '../../src/projections/rebuild.ts';
import { PROJECTIONS } from '../../src/projections/registry.ts';
import { operator, testApp } from '../support/app.ts';
import { inboundSms, messageStatus, postTwilio, PROVIDER_ENV, settle, sid, voiceStatusCallback } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t, { env: PROVIDER_ENV });
const { app, services, database } = ctx;
const BUSINESS = '+15125550100';
const MOVED = '+15125550101';

// A mixed log: two orgs and a number moved between them, settings, tokens (one revoked, one member's role
// changed), bookings created, canceled and rescheduled, and leads with calls, texts and status changes.
const orgId = await ctx.createOrg({ phones: [BUSINESS] });
const otherOrg = randomUUID();
await createOrg(services, operator(otherOrg), { orgId: otherOrg, name: 'Other HVAC', timezone: 'America/Denver', phones: [MOVED] });
await configureOrg(services, operator(orgId), { orgId, changes: {}, addPhones: [MOVED], movePhones: true });
const revoked = await ctx.token(orgId);
await ctx.token(otherOrg);
await revokeCredential(services, operator(orgId), revoked.id, 'rotated');
const member = await ctx.memberToken(orgId, 'member');
await addMember(services, operator(orgId), { orgId, memberId: member.memberId, email: 'tech@example.com', role: 'member' });
await changeMemberRole(services, operator(orgId), { orgId, memberId: member.memberId, role: 'admin', byRole: 'operator' });

const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'seed' }, correlationId: 'seed' };
const bookings: string[] = [];
for (let i = 0; i < 40; i++) {
  const start = new Date(Date.UTC(2030, 0, 1 + (i % 20), 14));
  const { booking } = await createBooking(services, caller, {
    customer: { name: `Customer ${i}`, phone: `+1512555${String(2000 + i)}` },
    window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  });
  bookings.push(booking.id);
  // Changes land several batches after the creation they fold onto.
  if (i >= 10 && i % 3 === 0) await changeBooking(services, caller, bookings[i - 10]!, { kind: 'cancel', reason: 'seeded' });
  if (i >= 10 && i % 3 === 1) {
    await changeBooking(services, caller, bookings[i - 10]!, {
      kind: 'reschedule',
      window: { start: '2030-03-01T14:00:00.000Z', end: '2030-03-01T16:00:00.000Z' },
    });
  }
}
for (let i = 0; i < 4; i++) {
  const from = `+1512555070${i}`;
  await postTwilio(app, '/webhooks/twilio/voice', voiceStatusCallback({ callSid: sid('CA'), from, to: BUSINESS, status: 'no-answer' }));
  await postTwilio(
    app,
    '/webhooks/twilio/sms',
    inboundSms({
      messageSid: sid('SM'),
      from,
      to: BUSINESS,
      body: `text ${i}\twith a tab, a \\ and\na new line, naïve café 😀 ${'ü'.repeat(i % 2 ? 90 : 1)}`,
    }),
  );
  const leadId = leadIdFor(orgId, from, 0);
  const messageSid = sid('SM');
  await recordOutboundText(services, operator(orgId), {
    leadId,
    messageId: messageSid,
    to: from,
    body: 'on our way',
    kind: 'manual',
    sentAt: new Date().toISOString(),
  });
  await postTwilio(app, '/webhooks/twilio/message-status', messageStatus({ messageSid, from: BUSINESS, to: from, status: 'delivered' }));
  if (i % 2) await changeLeadStatus(services, operator(orgId), leadId, { to: 'won', reason: 'paid' });
  // Consent: an opt-out, and for some callers an opt-in after it.
  await postTwilio(app, '/webhooks/twilio/sms', inboundSms({ messageSid: sid('SM'), from, to: BUSINESS, body: 'STOP' }));
  if (i % 2) await postTwilio(app, '/webhooks/twilio/sms', inboundSms({ messageSid: sid('SM'), from, to: BUSINESS, body: 'START' }));
}
await settle(ctx);
await ctx.catchUpAll();

const TABLES = PROJECTIONS.flatMap((p) => p.tables);

/** Every row of every read-model table, in key order. */
async function snapshot() {
  const tables: Record<string, unknown[]> = {};
  for (const table of TABLES) tables[table] = (await database.pool.query(`select * from ${table} order by 1, 2`)).rows;
  return tables;
}

/** How the read-model tables are stored: persistence and index definitions. */
async function layout() {
  const { rows } = await database.pool.query(
    `select c.relname, c.relpersistence, array(select indexdef from pg_indexes i where i.schemaname = 'public' and i.tablename = c.relname order by indexdef) as indexes
       from pg_class c where c.relnamespace = 'public'::regnamespace and c.relname = any($1) order by c.relname`,
    [TABLES],
  );
  return rows;
}

t.test('a rebuild of every projection writes exactly the rows the live projectors wrote, stored as before', async (t) => {
  const live = await snapshot();
  t.ok(
    TABLES.every((table) => live[table]!.length > 0),
    `every table has rows (${TABLES.map((x) => `${x} ${live[x]!.length}`).join(', ')})`,
  );
  const before = await layout();

  for (const projection of PROJECTIONS) {
    // Small batches: a booking's or lead's later events fold onto rows written by earlier batches.
    const result = await rebuildProjection(services, projection, { batchSize: 7 });
    t.ok(result.events > 0, `${projection.name}: ${result.events} events`);
  }
  const rebuilt = await snapshot();
  for (const table of TABLES) t.same(rebuilt[table], live[table], `${table}: same rows`);
  t.same(await layout(), before, 'tables logged again, with the same indexes');
  t.ok(
    before.every((row: { relpersistence: string }) => row.relpersistence === 'p'),
    'read-model tables are logged',
  );

  // And the live projectors carry on from the rebuilt tables.
  const { booking } = await createBooking(services, caller, {
    customer: { name: 'After rebuild', phone: '+15125559998' },
    window: { start: '2030-06-01T14:00:00.000Z', end: '2030-06-01T15:00:00.000Z' },
  });
  await changeBooking(services, caller, bookings[0]!, { kind: 'cancel', reason: 'after rebuild' });
  await ctx.catchUpAll();
  const { rows } = await database.pool.query('select id, status from bookings where id = any($1) order by id', [[booking.id, bookings[0]]]);
  t.same(rows.map((r) => r.status).sort(), ['canceled', 'scheduled'], 'a new booking and a change to a rebuilt one are projected live');
});
