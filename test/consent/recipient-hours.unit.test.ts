import t from 'tap';
import { AREA_CODE_COUNT, areaCodeOf } from '../../src/automation/area-codes.ts';
import { answersContact, quietHoursAnswer } from '../../src/automation/may-text.ts';
import { recipientQuiet } from '../../src/automation/recipient-hours.ts';
import { DEFAULT_SETTINGS } from '../../src/domain/org.ts';

const org = (timezone = 'America/Chicago', quietHours: { start: string; end: string } | null = null) => ({
  timezone,
  settings: { ...DEFAULT_SETTINGS, quietHours },
});

t.test('the area-code table knows every state and DC, each code once', async (t) => {
  const states = new Set<string>();
  for (let code = 200; code <= 999; code++) {
    const known = areaCodeOf(`+1${code}5550123`);
    if (known?.state) states.add(known.state);
  }
  t.equal(states.size, 51, [...states].sort().join(' '));
  t.ok(AREA_CODE_COUNT >= 400, `${AREA_CODE_COUNT} codes`);
  t.match(areaCodeOf('+13055550123'), { state: 'FL', zones: ['America/New_York'] });
  t.match(areaCodeOf('+12035550123'), { state: 'CT' });
  t.match(areaCodeOf('+18505550123'), { state: 'FL', zones: ['America/Chicago', 'America/New_York'] }, 'multi-zone: both');
});

t.test('unknown area codes and numbers outside NANP follow the org zone and the default hours', async (t) => {
  t.equal(areaCodeOf('+15555550123'), undefined);
  t.equal(areaCodeOf('+442071838750'), undefined);
  t.equal(areaCodeOf('+18005550123'), undefined, 'toll-free is no place');
  t.equal(areaCodeOf('not a number'), undefined);
  t.match(recipientQuiet('+442071838750', 'America/Denver'), { zones: ['America/Denver'], quiet: { start: '21:00', end: '08:00' } });
});

t.test('NANP codes outside the US states (Canada, the Caribbean, territories) keep their own zone and the default hours', async (t) => {
  const toronto = recipientQuiet('+14165550123', 'America/Denver');
  t.same(toronto.zones, ['America/Toronto']);
  t.same(toronto.quiet, { start: '21:00', end: '08:00' });
  t.equal(toronto.state, undefined);
  t.match(toronto.label, /America\/Toronto: texts 08:00–21:00/);
  t.same(recipientQuiet('+17875550123', 'America/Denver').zones, ['America/Puerto_Rico']);
});

t.test('states narrow the hours: FL, OK, MD, MS, NJ to 08:00–20:00, CT to 09:00–20:00; others 08:00–21:00', async (t) => {
  for (const phone of ['+13055550123', '+14055550123', '+14105550123', '+16015550123', '+12015550123'])
    t.same(recipientQuiet(phone, 'UTC').quiet, { start: '20:00', end: '08:00' }, phone);
  t.same(recipientQuiet('+12035550123', 'UTC').quiet, { start: '20:00', end: '09:00' });
  t.same(recipientQuiet('+15125550123', 'UTC').quiet, { start: '21:00', end: '08:00' });
});

t.test("a text due in the recipient's quiet hours is deferred to their next allowed minute, with the reason", async (t) => {
  // 20:30 in Miami (EDT): Florida ends at 20:00 → 08:00 the next morning.
  const answer = quietHoursAnswer(org(), '+13055550123', '2031-06-03T00:30:00.000Z');
  t.match(answer, { kind: 'deferred', until: '2031-06-03T12:00:00.000Z', reason: /recipient's quiet hours \(FL/ });
  // Connecticut at 08:30 waits until 09:00.
  t.match(quietHoursAnswer(org(), '+12035550123', '2031-06-02T12:30:00.000Z'), { kind: 'deferred', until: '2031-06-02T13:00:00.000Z' });
  t.same(quietHoursAnswer(org(), '+12035550123', '2031-06-02T13:00:00.000Z'), { kind: 'allowed' });
  // Texas at 20:59 CDT is fine.
  t.same(quietHoursAnswer(org(), '+15125550123', '2031-06-03T01:59:00.000Z'), { kind: 'allowed' });
});

t.test('a multi-zone code waits for the later morning and stops at the earlier evening', async (t) => {
  // 850: Central (Pensacola) and Eastern (Tallahassee). 07:30 CDT = 08:30 EDT: Central still quiet.
  t.match(quietHoursAnswer(org(), '+18505550123', '2031-06-02T12:30:00.000Z'), { kind: 'deferred', until: '2031-06-02T13:00:00.000Z' });
  // 19:30 CDT = 20:30 EDT: Eastern already quiet (FL 20:00) → next 08:00 Central.
  t.match(quietHoursAnswer(org(), '+18505550123', '2031-06-03T00:30:00.000Z'), { kind: 'deferred', until: '2031-06-03T13:00:00.000Z' });
});

t.test("the org's own quiet hours apply on top", async (t) => {
  const quiet = org('America/Chicago', { start: '17:00', end: '09:30' });
  const answer = quietHoursAnswer(quiet, '+15125550123', '2031-06-02T13:00:00.000Z'); // 08:00 CDT
  t.match(answer, { kind: 'deferred', until: '2031-06-02T14:30:00.000Z', reason: /the org's quiet hours/ });
});

t.test('a text answering the contact within the hour skips the recipient hours, never the org ones', async (t) => {
  t.same(quietHoursAnswer(org(), '+13055550123', '2031-06-03T00:30:00.000Z', { recipient: false }), { kind: 'allowed' });
  t.ok(answersContact('2031-06-03T00:00:00.000Z', '2031-06-03T00:59:00.000Z'));
  t.notOk(answersContact('2031-06-03T00:00:00.000Z', '2031-06-03T01:01:00.000Z'));
  t.notOk(answersContact(undefined, '2031-06-03T01:01:00.000Z'));
});
