import t from 'tap';
import { isQuiet, nextAllowed } from '../../src/automation/quiet-hours.ts';

const CHICAGO = 'America/Chicago';
const overnight = { start: '21:00', end: '08:00' };
const lunch = { start: '12:00', end: '13:30' };

t.test('an instant outside the quiet hours is sent as is', async (t) => {
  // 2031-03-12 10:15 CDT
  t.equal(nextAllowed('2031-03-12T15:15:42.000Z', overnight, CHICAGO), '2031-03-12T15:15:42.000Z');
  t.notOk(isQuiet('2031-03-12T15:15:42.000Z', overnight, CHICAGO));
});

t.test('late evening in wrapping quiet hours waits for the end the next morning', async (t) => {
  // 22:30 CDT on the 12th → 08:00 CDT on the 13th
  t.ok(isQuiet('2031-03-13T03:30:00.000Z', overnight, CHICAGO));
  t.equal(nextAllowed('2031-03-13T03:30:00.000Z', overnight, CHICAGO), '2031-03-13T13:00:00.000Z');
});

t.test('early morning in wrapping quiet hours waits for the end the same morning', async (t) => {
  // 06:59 CDT → 08:00 CDT the same day
  t.equal(nextAllowed('2031-03-13T11:59:30.000Z', overnight, CHICAGO), '2031-03-13T13:00:00.000Z');
});

t.test('the start minute is quiet and the end minute is not', async (t) => {
  t.ok(isQuiet('2031-03-13T02:00:00.000Z', overnight, CHICAGO), '21:00 is quiet');
  t.notOk(isQuiet('2031-03-13T01:59:59.000Z', overnight, CHICAGO), '20:59:59 is not');
  t.notOk(isQuiet('2031-03-13T13:00:00.000Z', overnight, CHICAGO), '08:00 is not');
  t.ok(isQuiet('2031-03-13T12:59:00.000Z', overnight, CHICAGO), '07:59 is');
});

t.test('quiet hours within one day defer to their end that day', async (t) => {
  // 12:45 CDT → 13:30 CDT
  t.equal(nextAllowed('2031-03-13T17:45:00.000Z', lunch, CHICAGO), '2031-03-13T18:30:00.000Z');
  t.notOk(isQuiet('2031-03-13T19:00:00.000Z', lunch, CHICAGO));
});

t.test('equal start and end mean no quiet hours, and none means none', async (t) => {
  t.equal(nextAllowed('2031-03-13T03:30:00.000Z', { start: '08:00', end: '08:00' }, CHICAGO), '2031-03-13T03:30:00.000Z');
  t.equal(nextAllowed('2031-03-13T03:30:00.000Z', null, CHICAGO), '2031-03-13T03:30:00.000Z');
});

t.test('the org time zone decides: the same instant is quiet in Chicago and not in Berlin', async (t) => {
  const at = '2031-03-13T03:30:00.000Z'; // 22:30 Chicago, 04:30 Berlin
  t.ok(isQuiet(at, overnight, CHICAGO));
  t.ok(isQuiet(at, overnight, 'Europe/Berlin'));
  t.notOk(isQuiet(at, overnight, 'Asia/Tokyo'), '12:30 in Tokyo');
  t.equal(nextAllowed(at, overnight, 'Europe/Berlin'), '2031-03-13T07:00:00.000Z', '08:00 CET');
});

t.test('across the spring-forward night the end is 08:00 local on the new offset', async (t) => {
  // US DST starts 2031-03-09 02:00. 23:00 CST on the 8th (05:00Z on the 9th) → 08:00 CDT (13:00Z).
  t.equal(nextAllowed('2031-03-09T05:00:00.000Z', overnight, CHICAGO), '2031-03-09T13:00:00.000Z');
});

t.test('across the fall-back night the end is 08:00 local on the new offset', async (t) => {
  // US DST ends 2031-11-02 02:00. 23:00 CDT on the 1st (04:00Z on the 2nd) → 08:00 CST (14:00Z).
  t.equal(nextAllowed('2031-11-02T04:00:00.000Z', overnight, CHICAGO), '2031-11-02T14:00:00.000Z');
});

t.test('an end inside the spring-forward gap lands just after the gap', async (t) => {
  // quiet 21:00-02:30; 02:30 does not exist on 2031-03-09 in Chicago, 03:30 CDT (08:30Z) does.
  const at = nextAllowed('2031-03-09T06:00:00.000Z', { start: '21:00', end: '02:30' }, CHICAGO);
  t.notOk(isQuiet(at, { start: '21:00', end: '02:30' }, CHICAGO));
  t.ok(Date.parse(at) > Date.parse('2031-03-09T06:00:00.000Z'));
  t.ok(Date.parse(at) <= Date.parse('2031-03-09T08:30:00.000Z'));
});
