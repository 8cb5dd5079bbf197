import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import t from 'tap';
import { createBooking } from '../../src/commands/bookings.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { operator, testApp, testClock } from '../support/app.ts';

const API = '/api/private/v1';
const clock = testClock('2030-06-03T16:00:00.000Z'); // Monday 11:00 in Chicago
const ctx = await testApp(t, { clock });
const orgId = await ctx.createOrg({ timezone: 'America/Chicago' });
const { token } = await ctx.token(orgId, ['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_AVAILABILITY']);
const noScope = await ctx.token(orgId, ['READ_BOOKINGS']);
const auth = { authorization: `Bearer ${token}` };
const query = (q: string, headers = auth) => ctx.app.inject({ method: 'GET', url: `${API}/availability?${q}`, headers });
const configure = async (changes: Parameters<typeof configureOrg>[2]['changes']) => {
  await configureOrg(ctx.services, operator(orgId), { orgId, changes });
  await ctx.catchUpAll();
};

t.test('a disabled planned action is 404 action_not_enabled and says how to enable it', async (t) => {
  for (const q of ['from=2030-06-03T00:00:00Z&to=2030-06-05T00:00:00Z', 'garbage=1']) {
    const res = await query(q);
    t.equal(res.statusCode, 404);
    t.match(res.json(), { code: 'action_not_enabled', detail: /org configure --org <ORG_ID> --enable-action availability/ });
  }
});

t.test('enabling takes effect without restart; the scope is still required; disabling turns it off', async (t) => {
  await configure({ enabledActions: ['availability'] });
  const res = await query('from=2030-06-03T00:00:00Z&to=2030-06-05T00:00:00Z&duration=120');
  t.equal(res.statusCode, 200);
  t.match(res.json(), { timezone: 'America/Chicago', durationMinutes: 120 });
  t.equal(res.json().windows[0].start, '2030-06-03T17:00:00.000Z', 'the 12:00 local window; earlier ones are past');
  const forbidden = await query('from=2030-06-03T00:00:00Z&to=2030-06-05T00:00:00Z', { authorization: `Bearer ${noScope.token}` });
  t.equal(forbidden.statusCode, 403);
  t.match(forbidden.headers['www-authenticate'], /scope="READ_AVAILABILITY"/);
  const bad = await query('from=2030-06-03T00:00:00Z&to=2030-08-05T00:00:00Z');
  t.equal(bad.statusCode, 400, 'range over 31 days');
  await configure({ enabledActions: [] });
  t.equal((await query('from=2030-06-03T00:00:00Z&to=2030-06-05T00:00:00Z')).statusCode, 404);
  await configure({ enabledActions: ['availability'] });
});

t.test('availability never offers a window that is full, blacked out, outside hours or in the past', async (t) => {
  const hours = {
    mon: [
      { start: '08:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ],
    tue: [{ start: '09:00', end: '15:00' }],
    thu: [{ start: '07:00', end: '19:00' }],
    sat: [{ start: '09:00', end: '12:00' }],
  };
  await configure({ businessHours: hours, crewCapacity: 2, blackoutDates: [{ date: '2030-06-06', reason: 'Crew training' }] });
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'seed' }, correlationId: 'seed' };
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ day: fc.integer({ min: 0, max: 6 }), hour: fc.integer({ min: 6, max: 19 }), length: fc.integer({ min: 1, max: 4 }) }),
        { maxLength: 6 },
      ),
      fc.constantFrom(60, 90, 120, 180),
      async (bookings, duration) => {
        for (const b of bookings) {
          const start = DateTime.fromISO('2030-06-03T00:00', { zone: 'America/Chicago' }).plus({ days: b.day, hours: b.hour });
          await createBooking(ctx.services, caller, {
            customer: { name: 'Load', phone: '+15125550100' },
            window: { start: start.toUTC().toISO()!, end: start.plus({ hours: b.length }).toUTC().toISO()! },
          });
        }
        await ctx.catchUpAll();
        const res = await query(`from=2030-06-03T05:00:00Z&to=2030-06-10T05:00:00Z&duration=${duration}`);
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        const { rows } = await ctx.database.pool.query<{ s: Date; e: Date }>(
          "select window_start as s, window_end as e from bookings where org_id = $1 and status = 'scheduled'",
          [orgId],
        );
        for (const w of res.json().windows as { start: string; end: string; remaining: number }[]) {
          checked++;
          const start = DateTime.fromISO(w.start).setZone('America/Chicago');
          const end = DateTime.fromISO(w.end).setZone('America/Chicago');
          if (Date.parse(w.start) <= clock().getTime()) throw new Error(`past window ${w.start}`);
          if (start.toISODate() === '2030-06-06') throw new Error(`blackout window ${w.start}`);
          const day = (['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const)[start.weekday % 7]!;
          const ranges = (hours as Record<string, { start: string; end: string }[]>)[day] ?? [];
          const inside = ranges.some(
            (r) => start.toFormat('HH:mm') >= r.start && end.toFormat('HH:mm') <= r.end && start.hasSame(end, 'day'),
          );
          if (!inside) throw new Error(`window outside hours ${w.start}`);
          const overlapping = rows.filter((r) => r.s.getTime() < Date.parse(w.end) && r.e.getTime() > Date.parse(w.start)).length;
          if (overlapping >= 2) throw new Error(`full window offered ${w.start} (${overlapping} booked)`);
          if (w.remaining !== 2 - overlapping) throw new Error(`wrong remaining at ${w.start}`);
        }
        return true;
      },
    ),
    { numRuns: 25, seed: 424242 },
  );
  t.ok(checked > 50, `${checked} offered windows checked`);
  const blackout = await query('from=2030-06-06T05:00:00Z&to=2030-06-07T05:00:00Z');
  t.same(blackout.json().windows, []);
  t.match(blackout.json().guidance, [/Closed on 2030-06-06 \(Crew training\)/]);
});
