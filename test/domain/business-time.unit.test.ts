import t from 'tap';
import { addBusinessMinutes } from '../../src/domain/business-time.ts';
import type { BusinessHours } from '../../src/domain/values.ts';

const weekdays: BusinessHours = {
  mon: [{ start: '08:00', end: '17:00' }],
  tue: [{ start: '08:00', end: '17:00' }],
  wed: [{ start: '08:00', end: '17:00' }],
  thu: [{ start: '08:00', end: '17:00' }],
  fri: [{ start: '08:00', end: '17:00' }],
};
const calendar = { businessHours: weekdays, timezone: 'America/Chicago' };

t.test('inside opening hours the target counts on the clock', async (t) => {
  // Tue Dec 1 2026, 10:00 CST = 16:00Z
  t.equal(addBusinessMinutes('2026-12-01T16:00:00.000Z', 5, calendar), '2026-12-01T16:05:00.000Z');
});

t.test('a contact before opening is due minutes after opening', async (t) => {
  // Tue 06:30 CST → due 08:05 CST
  t.equal(addBusinessMinutes('2026-12-01T12:30:00.000Z', 5, calendar), '2026-12-01T14:05:00.000Z');
});

t.test('the target carries over the closing time, the weekend and a blackout day', async (t) => {
  // Fri Dec 4, 16:58 CST: 2 minutes left on Friday, 3 more on Monday at 08:00 → 08:03 CST Mon Dec 7
  t.equal(addBusinessMinutes('2026-12-04T22:58:00.000Z', 5, calendar), '2026-12-07T14:03:00.000Z');
  // ... and with Monday a blackout day, Tuesday.
  t.equal(
    addBusinessMinutes('2026-12-04T22:58:00.000Z', 5, { ...calendar, blackoutDates: [{ date: '2026-12-07' }] }),
    '2026-12-08T14:03:00.000Z',
  );
});

t.test('split days (a lunch break) are counted in their parts', async (t) => {
  const split = {
    businessHours: {
      tue: [
        { start: '13:00', end: '17:00' },
        { start: '08:00', end: '12:00' },
      ],
    },
    timezone: 'UTC',
  };
  t.equal(addBusinessMinutes('2026-12-01T11:50:00.000Z', 30, split), '2026-12-01T13:20:00.000Z');
});

t.test('no opening hours at all: the wall clock', async (t) => {
  t.equal(addBusinessMinutes('2026-12-01T16:00:00.000Z', 5, { businessHours: {}, timezone: 'UTC' }), '2026-12-01T16:05:00.000Z');
});
