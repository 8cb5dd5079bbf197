// Errors a newcomer meets in the first hour say what to do instead, and change nothing.
import t from 'tap';
import { testApp } from '../support/app.ts';

const h = await testApp(t);
const orgId = await h.createOrg({ phones: ['+15125550100'] });
const { token } = await h.token(orgId, ['READ_BOOKINGS', 'WRITE_BOOKINGS']);
const member = await h.memberToken(orgId, 'admin');
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const API = '/api/private/v1';
const booking = (start: string, end: string) => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: { start, end },
  service: { type: 'ac_repair', summary: 'AC blowing warm air' },
});

async function eventCount(): Promise<number> {
  const { rows } = await h.database.pool.query('select count(*)::int as n from es_events');
  return rows[0].n;
}

t.test('a date without a zone offset asks for one, with an example', async (t) => {
  const before = await eventCount();
  const res = await h.app.inject({
    method: 'POST',
    url: `${API}/bookings`,
    headers: bearer(token),
    payload: booking('2030-06-02T15:00:00', '2030-06-02T17:00:00Z'),
  });
  t.equal(res.statusCode, 400);
  t.same(res.json().errors, [
    { path: 'body.window.start', message: 'must include a time zone offset, e.g. 2030-06-02T15:00:00-05:00 (or Z for UTC)' },
  ]);
  const garbage = await h.app.inject({
    method: 'GET',
    url: `${API}/bookings?from=tomorrow&to=2030-07-01T00:00:00Z`,
    headers: bearer(token),
  });
  t.equal(garbage.statusCode, 400);
  t.match(garbage.json().errors, [
    { path: 'querystring.from', message: /^must be an ISO-8601 date and time with a time zone offset, e\.g\. 2030-06-02T15:00:00-05:00$/ },
  ]);
  t.equal(await eventCount(), before, 'nothing was appended');
});

t.test('an empty PATCH lists the fields it accepts', async (t) => {
  const created = await h.app.inject({
    method: 'POST',
    url: `${API}/bookings`,
    headers: bearer(token),
    payload: booking('2030-06-02T15:00:00-05:00', '2030-06-02T17:00:00-05:00'),
  });
  t.equal(created.statusCode, 201);
  const before = await eventCount();
  const res = await h.app.inject({ method: 'PATCH', url: `${API}/bookings/${created.json().id}`, headers: bearer(token), payload: {} });
  t.equal(res.statusCode, 400);
  t.same(res.json().errors, [
    {
      path: 'body',
      message: 'nothing to change: send window (to reschedule) or status "canceled" (to cancel), each with an optional reason',
    },
  ]);
  t.equal(await eventCount(), before);
});

t.test('a body without Content-Type (or a form body) is told which Content-Type the route takes', async (t) => {
  const body = JSON.stringify(booking('2030-06-02T15:00:00Z', '2030-06-02T17:00:00Z'));
  const missing = await h.app.inject({ method: 'POST', url: `${API}/bookings`, headers: bearer(token), body });
  t.equal(missing.statusCode, 415);
  t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(missing.json().detail, 'send the body with Content-Type: application/json (the request had no Content-Type)');
  const form = await h.app.inject({
    method: 'POST',
    url: `${API}/bookings`,
    headers: { ...bearer(token), 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  t.equal(form.statusCode, 415);
  t.equal(form.json().detail, 'send the body with Content-Type: application/json (got application/x-www-form-urlencoded)');
});

t.test('quiet hours like 9pm are answered with the HH:MM form', async (t) => {
  const res = await h.app.inject({
    method: 'PUT',
    url: '/api/internal/v1/settings',
    headers: bearer(member.token),
    payload: { quietHours: { start: '9pm', end: '08:00' } },
  });
  t.equal(res.statusCode, 400);
  t.same(res.json().errors, [{ path: 'body.quietHours.start', message: 'use HH:MM on a 24-hour clock, e.g. 21:00' }]);
  t.notMatch(res.body, /\^|\\d|regex|pattern/, 'no regular expression in the answer');
});

t.test('a token of the wrong kind gets a 401 naming the kind this API takes', async (t) => {
  const onProtected = await h.app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(member.token) });
  t.equal(onProtected.statusCode, 401);
  t.equal(onProtected.headers['www-authenticate'], 'Bearer realm="callsnare", error="invalid_token"');
  t.match(
    onProtected.json().detail,
    /^this API takes an integration token \(cs_live_\.\.\., .*\); a member token \(cs_member_\.\.\.\) works on the internal API \/api\/internal\/v1$/,
  );
  const onInternal = await h.app.inject({ method: 'GET', url: '/api/internal/v1/leads', headers: bearer(token) });
  t.equal(onInternal.statusCode, 401);
  t.match(
    onInternal.json().detail,
    /^this API takes a member token \(cs_member_\.\.\., .*\); an integration token \(cs_live_\.\.\.\) works on the protected API \/api\/private\/v1$/,
  );
  const garbage = await h.app.inject({ method: 'GET', url: `${API}/health`, headers: bearer('cs_live_nope') });
  t.equal(garbage.json().detail, 'the token is not valid', 'a token of neither kind is just not valid');
});

t.test('webhook_not_configured names the variables to set', async (t) => {
  const twilio = await h.app.inject({
    method: 'POST',
    url: '/webhooks/twilio/voice',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' },
    payload: 'CallSid=CA0123456789abcdef0123456789abcdef&From=%2B15125550199&To=%2B15125550100&CallStatus=no-answer',
  });
  t.equal(twilio.statusCode, 503);
  t.equal(twilio.json().code, 'webhook_not_configured');
  t.match(twilio.json().detail, /PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN/);
  const stripe = await h.app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' },
    payload: '{}',
  });
  t.equal(stripe.statusCode, 503);
  t.match(stripe.json().detail, /STRIPE_WEBHOOK_SECRET/);
});
