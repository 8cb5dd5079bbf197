import t from 'tap';
import { computeAvailability, type AvailabilityInput } from '../../src/domain/availability.ts';
import { DEFAULT_SETTINGS } from '../../src/domain/org.ts';

// Monday 2030-06-03 in Chicago (UTC-5 in June).
const base: AvailabilityInput = {
  from: '2030-06-03T05:00:00.000Z',
  to: '2030-06-04T05:00:00.000Z',
  durationMinutes: 120,
  now: '2030-06-01T00:00:00.000Z',
  timezone: 'America/Chicago',
  settings: { businessHours: DEFAULT_SETTINGS.businessHours, crewCapacity: 2, blackoutDates: [] },
  bookings: [],
};
const starts = (input: AvailabilityInput) => computeAvailability(input).windows.map((w) => w.start);

t.test('windows of the requested duration fill business hours in the org time zone', async (t) => {
  t.same(
    starts(base),
    ['2030-06-03T13:00:00.000Z', '2030-06-03T15:00:00.000Z', '2030-06-03T17:00:00.000Z', '2030-06-03T19:00:00.000Z'],
    '08:00–16:00 local; 16:00–18:00 would pass closing',
  );
  const first = computeAvailability(base).windows[0]!;
  t.same(first, { start: '2030-06-03T13:00:00.000Z', end: '2030-06-03T15:00:00.000Z', capacity: 2, booked: 0, remaining: 2 });
});

t.test('a window is offered only while fewer bookings overlap it than the crew can take', async (t) => {
  const one = { start: '2030-06-03T15:30:00.000Z', end: '2030-06-03T16:30:00.000Z' };
  const result = computeAvailability({ ...base, bookings: [one] });
  t.match(
    result.windows.find((w) => w.start === '2030-06-03T15:00:00.000Z'),
    { booked: 1, remaining: 1 },
  );
  const full = computeAvailability({ ...base, bookings: [one, one] });
  t.notOk(
    full.windows.some((w) => w.start === '2030-06-03T15:00:00.000Z'),
    'a full window is never offered',
  );
  t.match(full.guidance, [/1 window is fully booked/]);
  const touching = computeAvailability({
    ...base,
    bookings: [
      { start: '2030-06-03T11:00:00.000Z', end: '2030-06-03T13:00:00.000Z' },
      { start: '2030-06-03T11:00:00.000Z', end: '2030-06-03T13:00:00.000Z' },
    ],
  });
  t.equal(touching.windows[0]!.booked, 0, 'a booking ending as a window starts does not overlap it');
});

t.test('blackout dates offer nothing and say why', async (t) => {
  const result = computeAvailability({
    ...base,
    settings: { ...base.settings, blackoutDates: [{ date: '2030-06-03', reason: 'Crew training' }] },
  });
  t.same(result.windows, []);
  t.same(result.blackouts, [{ date: '2030-06-03', reason: 'Crew training' }]);
  t.match(result.guidance[0], /Closed on 2030-06-03 \(Crew training\)/);
});

t.test('nothing in the past and nothing outside hours', async (t) => {
  t.same(
    starts({ ...base, now: '2030-06-03T16:00:00.000Z' }),
    ['2030-06-03T17:00:00.000Z', '2030-06-03T19:00:00.000Z'],
    'windows starting at or before now are gone',
  );
  const weekend = computeAvailability({ ...base, from: '2030-06-08T05:00:00.000Z', to: '2030-06-10T05:00:00.000Z' });
  t.same(weekend.windows, [], 'closed on Saturday and Sunday by default');
  t.match(weekend.guidance, [/No business hours/]);
});

t.test('local opening hours hold across a daylight-saving change', async (t) => {
  // 2030-03-11 is the Monday after the spring-forward Sunday (2030-03-10) in Chicago.
  const result = computeAvailability({
    ...base,
    now: '2030-01-01T00:00:00.000Z',
    from: '2030-03-08T00:00:00.000Z',
    to: '2030-03-12T00:00:00.000Z',
    durationMinutes: 540,
  });
  t.same(
    result.windows.map((w) => w.start),
    ['2030-03-08T14:00:00.000Z', '2030-03-11T13:00:00.000Z'],
    '08:00 CST then 08:00 CDT',
  );
});
