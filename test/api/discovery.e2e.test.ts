import { randomUUID } from 'node:crypto';
import t from 'tap';
import { actionCatalog } from '../../src/api/actions.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { changeLeadStatus, receiveInboundText, recordMissedCall, recordOutboundText } from '../../src/commands/leads.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { leadBookingLink } from '../../src/automation/lead-booking-link.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { operator, testApp, testClock } from '../support/app.ts';

const clock = testClock('2030-06-03T15:00:00.000Z');
const ctx = await testApp(t, { clock });

t.test('GET /api/actions lists 6 live protected, 15 live internal and 2 planned actions, without auth', async (t) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/api/actions' });
  t.equal(res.statusCode, 200);
  const actions = res.json().data as {
    name: string;
    status: string;
    surface: string;
    permissions: string[];
    idempotency: string;
    enable?: string;
  }[];
  const by = (status: string) =>
    actions
      .filter((a) => a.status === status)
      .map((a) => a.name)
      .sort();
  t.same(by('live_protected'), ['cancel_booking', 'create_booking', 'get_booking', 'health', 'list_bookings', 'reschedule_booking']);
  t.equal(by('live_internal').length, 15);
  t.same(by('planned'), ['availability', 'lead_summary']);
  for (const a of actions) {
    t.ok(
      a.name && a.surface && a.permissions.length && ['safe', 'idempotency_key', 'idempotent', 'none'].includes(a.idempotency),
      `${a.name} is fully described`,
    );
    if (a.status === 'live_internal') t.equal(a.surface, 'internal');
    else t.match(a.surface, /^(GET|POST|PATCH|PUT) \/api\/private\/v1\//);
  }
  t.match(
    actions.find((a) => a.name === 'availability'),
    { surface: 'GET /api/private/v1/availability', enable: /--enable-action availability/ },
  );
  t.match(
    actions.find((a) => a.name === 'create_booking'),
    { permissions: ['WRITE_BOOKINGS'], idempotency: 'idempotency_key' },
  );
});

t.test('every API route the server registered is in the catalog: a new route cannot go undocumented', async (t) => {
  const apiRoutes = ctx.app.routeRegistry.filter((r) => /^\/api\/(private|internal)\//.test(r.url) && !r.url.endsWith('/openapi.json'));
  t.ok(apiRoutes.length >= 12);
  const undocumented = apiRoutes.filter((r) => r.actions.length === 0).map((r) => `${r.method} ${r.url}`);
  t.same(undocumented, [], 'every route carries catalog metadata');
  const listed = new Set(actionCatalog(ctx.app.routeRegistry).flatMap((a) => a.routes));
  t.same(
    apiRoutes.map((r) => `${r.method} ${r.url}`).filter((r) => !listed.has(r)),
    [],
    'and the catalog lists it',
  );
  const catalogRoutes = [...listed].filter((r) => !apiRoutes.some((x) => `${x.method} ${x.url}` === r));
  t.same(catalogRoutes, [], 'the catalog lists nothing the server does not serve');
});

t.test('lead summary: 404 until enabled, then reflects the timeline after each event', async (t) => {
  const orgId = await ctx.createOrg({ phones: ['+15125550100'] });
  const { token } = await ctx.token(orgId, ['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_LEAD_SUMMARY']);
  const provider = { orgId, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
  const { lead } = await recordMissedCall(ctx.services, provider, {
    callSid: `CA${randomUUID().replaceAll('-', '')}`,
    from: '+15125550199',
    to: '+15125550100',
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  const leadId = lead.id;
  const summary = async () => {
    await ctx.catchUpAll();
    const res = await ctx.app.inject({
      method: 'GET',
      url: `/api/private/v1/leads/${leadId}/summary`,
      headers: { authorization: `Bearer ${token}` },
    });
    return res;
  };
  const disabled = await summary();
  t.equal(disabled.statusCode, 404);
  t.match(disabled.json(), { code: 'action_not_enabled', detail: /--enable-action lead_summary/ });

  await configureOrg(ctx.services, operator(orgId), { orgId, changes: { enabledActions: ['lead_summary'] } });
  let res = await summary();
  t.equal(res.statusCode, 200, 'enabled without restart');
  t.match(res.json(), {
    leadId,
    caller: '+15125550199',
    status: 'active',
    lastContact: { kind: 'missed_call', direction: 'inbound' },
    happened: { missedCalls: 1, inboundTexts: 0 },
    nextAction: { code: 'call_back', hint: /1 missed call/ },
  });

  clock.advance(10 * 60_000);
  await recordOutboundText(ctx.services, provider, {
    leadId,
    messageId: 'SM1',
    to: '+15125550199',
    body: 'Sorry we missed you!',
    kind: 'text_back',
    sentAt: clock().toISOString(),
  });
  res = await summary();
  t.match(res.json().nextAction, { code: 'wait_for_reply' });

  clock.advance(5 * 60_000);
  await receiveInboundText(ctx.services, provider, {
    messageSid: `SM${randomUUID().replaceAll('-', '')}`,
    from: '+15125550199',
    to: '+15125550100',
    body: 'My AC is out',
    receivedAt: clock().toISOString(),
  });
  res = await summary();
  t.match(res.json(), { happened: { inboundTexts: 1 }, lastContact: { kind: 'inbound_text' }, nextAction: { code: 'reply_to_text' } });
  t.match(res.json().recent[0], { kind: 'inbound_text', summary: /My AC is out/ });

  await recordOutboundText(ctx.services, provider, {
    leadId,
    messageId: 'SM2',
    to: '+15125550199',
    body: 'We can come tomorrow 8-10',
    kind: 'manual',
    sentAt: clock().toISOString(),
  });
  res = await summary();
  t.match(res.json().nextAction, { code: 'book_visit' });

  clock.advance(25 * 3_600_000);
  res = await summary();
  t.match(res.json().nextAction, { code: 'follow_up', hint: /No reply since our message/ });

  const integration = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'CRM' }, correlationId: randomUUID() };
  await createBooking(ctx.services, integration, {
    customer: { name: 'Dana', phone: '+15125550199' },
    window: { start: '2030-06-06T15:00:00Z', end: '2030-06-06T17:00:00Z' },
    leadId,
  });
  await ctx.catchUpAll(); // the booking is visible to readers from here on
  await catchUp(ctx.services, leadBookingLink);
  res = await summary();
  t.match(res.json(), { status: 'booked', happened: { bookings: 1 }, nextAction: { code: 'confirm_visit' } });

  await changeLeadStatus(ctx.services, integration, leadId, { to: 'won' });
  res = await summary();
  t.match(res.json(), { status: 'won', nextAction: { code: 'none' } });
  t.same(res.json().consent, { status: 'unknown', since: null, source: null }, 'the summary carries the caller consent');

  const other = await ctx.createOrg();
  await configureOrg(ctx.services, operator(other), { orgId: other, changes: { enabledActions: ['lead_summary'] } });
  const otherToken = await ctx.token(other, ['READ_LEAD_SUMMARY']);
  await ctx.catchUpAll();
  const foreign = await ctx.app.inject({
    method: 'GET',
    url: `/api/private/v1/leads/${leadId}/summary`,
    headers: { authorization: `Bearer ${otherToken.token}` },
  });
  t.equal(foreign.statusCode, 404, "another org's lead is not found");
  t.equal(foreign.json().code, 'not_found');
  const noScope = await ctx.token(orgId, ['READ_BOOKINGS']);
  const forbidden = await ctx.app.inject({
    method: 'GET',
    url: `/api/private/v1/leads/${leadId}/summary`,
    headers: { authorization: `Bearer ${noScope.token}` },
  });
  t.equal(forbidden.statusCode, 403);
});
