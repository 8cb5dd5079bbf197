import { randomUUID } from 'node:crypto';
import t from 'tap';
import Fastify from 'fastify';
import { ACTIONS, actionsOf } from '../../src/api/discovery/catalog.ts';
import { routeRegistryPlugin } from '../../src/api/discovery/registry.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { changeLeadStatus, receiveInboundText, recordMissedCall, recordOutboundText } from '../../src/commands/leads.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { leadBookingLink } from '../../src/automation/lead-booking-link.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { operator, testApp, testClock } from '../support/app.ts';

const clock = testClock('2030-06-03T15:00:00.000Z');
const ctx = await testApp(t, { clock });

const PROTECTED = ['health', 'list_bookings', 'get_booking', 'create_booking', 'reschedule_booking', 'cancel_booking'];
const INTERNAL = ['create_or_reuse_lead', 'move_lead_status', 'send_booking_confirmation', 'send_booking_reminders'];
const PLANNED = ['availability', 'lead_summary'];

t.test('GET /api/actions is the action model, without auth: 6 live protected, 4 live internal, 2 planned, name for name', async (t) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/api/actions' });
  t.equal(res.statusCode, 200);
  const actions = res.json().data as Record<string, any>[];
  const by = (status: string) => actions.filter((a) => a.status === status).map((a) => a.name);
  t.same(by('live_protected'), PROTECTED);
  t.same(by('live_internal'), INTERNAL);
  t.same(by('planned'), PLANNED);
  t.equal(actions.length, 12);
  for (const a of actions) {
    for (const field of ['summary', 'useWhen', 'surface', 'result', 'permissions', 'idempotency']) {
      t.ok(typeof a[field] === 'string' && a[field].length > 10, `${a.name}.${field} is written out`);
    }
    if (a.status === 'live_internal') {
      t.notOk(a.routes, `${a.name}: no callable route`);
      t.ok(a.implementedBy.length > 0, `${a.name} points at what implements it`);
    } else {
      t.ok(a.routes.length > 0 && Array.isArray(a.scopes), `${a.name}: routes and scopes`);
    }
  }
  const named = (name: string) => actions.find((a) => a.name === name)!;
  t.match(named('move_lead_status'), { surface: 'Web app only today', idempotency: 'Lifecycle timestamps are written idempotently.' });
  t.match(named('create_or_reuse_lead'), { surface: 'Internal webhook and web-app workflow' });
  t.match(named('send_booking_confirmation'), { surface: 'Internal booking automation' });
  t.match(named('send_booking_reminders'), { surface: 'Internal booking automation' });
  t.match(named('create_booking'), {
    scopes: ['WRITE_BOOKINGS'],
    routes: ['POST /api/private/v1/bookings'],
    idempotency: /Idempotency-Key/,
  });
  t.match(named('availability'), { routes: ['GET /api/private/v1/availability'], enable: /--enable-action availability/ });
  t.same(named('health').scopes, []);
});

t.test(
  'live protected routes and live protected actions match both ways: a route without its action fails, and so does an action without its route',
  async (t) => {
    const api = ctx.app.routeRegistry.filter((r) => r.url.startsWith('/api/private/v1/') && !r.url.endsWith('/openapi.json'));
    t.ok(api.length >= 6);
    t.same(
      api.filter((r) => r.actions.length === 0).map((r) => `${r.method} ${r.url}`),
      [],
      'every protected route names its catalog action',
    );
    const served = new Map<string, Set<string>>();
    for (const r of api) for (const a of r.actions) (served.get(a) ?? served.set(a, new Set()).get(a)!).add(`${r.method} ${r.url}`);
    for (const action of ACTIONS) {
      if (action.status === 'live_internal') {
        t.notOk(served.has(action.name), `${action.name} is internal: no protected route serves it`);
        continue;
      }
      t.same(
        [...(served.get(action.name) ?? [])].sort(),
        [...(action.routes ?? [])].sort(),
        `${action.name}: the catalog's routes are the routes serving it`,
      );
    }
    t.same(
      [...served.keys()].filter((name) => !ACTIONS.some((a) => a.name === name)),
      [],
      'no route names an action the catalog lacks',
    );
    t.same(
      ctx.app.routeRegistry.filter((r) => r.url.startsWith('/api/internal/') && r.actions.length > 0).map((r) => r.url),
      [],
      "the internal API's plumbing endpoints are not catalog actions (the internal OpenAPI document describes them)",
    );
  },
);

t.test("internal actions point at what implements them: webhook routes, the web app's pages, automation tasks", async (t) => {
  const routes = new Set(ctx.app.routeRegistry.map((r) => `${r.method} ${r.url.replace(/:\w+/g, ':id')}`));
  const tasks = new Set<string>(Object.values(TASKS));
  for (const action of actionsOf('live_internal')) {
    for (const pointer of action.implementedBy ?? []) {
      const where = `${action.name} → ${pointer.kind} ${pointer.ref}`;
      if (pointer.kind === 'webhook' || pointer.kind === 'internal_api')
        t.ok(routes.has(pointer.ref.replace(/:\w+/g, ':id')), `${where} is served`);
      else if (pointer.kind === 'automation_task') t.ok(tasks.has(pointer.ref), `${where} is a worker task`);
      else {
        const page = await ctx.app.inject({ method: 'GET', url: pointer.ref.replace('<id>', randomUUID()) });
        t.equal(page.statusCode, 200, `${where} is a web app page`);
      }
    }
  }
});

t.test('a route naming an action the catalog does not know stops the server from starting', async (t) => {
  const app = Fastify();
  await app.register(routeRegistryPlugin);
  t.throws(
    () => app.get('/x', { config: { action: 'book_a_unicorn' as never } }, async () => 'x'),
    /no action book_a_unicorn in the catalog/,
  );
  await app.close();
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
