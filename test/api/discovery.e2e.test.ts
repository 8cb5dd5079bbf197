import { randomUUID } from 'node:crypto';
import t from 'tap';
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify from 'fastify';
import { ACTIONS, actionsOf } from '../../src/http/discovery/catalog.ts';
import { routeRegistryPlugin } from '../../src/http/discovery/registry.ts';
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

t.test('GET /docs/actions: the action model as server-rendered HTML, without auth and without script', async (t) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/docs/actions', headers: { host: 'callsnare.test' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html/);
  t.match(res.headers['content-security-policy'], /default-src 'none'/);
  const html = res.body;
  t.notMatch(html, /<script/i, 'no client script');
  t.match(html, /Docs \/ Actions/);
  t.equal((html.match(/<section aria-labelledby="principles">[\s\S]*?<\/ol>/)![0].match(/<li>/g) ?? []).length, 3, 'three principles');
  t.match(html, /<strong>6<\/strong> live protected/);
  t.match(html, /<strong>4<\/strong> live internal/);
  t.match(html, /<strong>2<\/strong> planned/);
  for (const action of ACTIONS) {
    const card = new RegExp(`<li class="card" id="${action.name}">[\\s\\S]*?</li>`).exec(html)?.[0] ?? '';
    t.ok(card, `a card for ${action.name}`);
    for (const field of ['Use when', 'Surface', 'Result', 'Permissions', 'Idempotency']) t.match(card, `<dt>${field}</dt>`);
    if (action.status === 'planned') t.match(card, /not callable today/);
  }
  t.match(html, /Planned — not callable today \(2\)/);
  t.match(html, /Agent access: the current boundary between public discovery and protected machine work/);
  for (const link of ['/api/private/v1/openapi.json', '/llms.txt', '/.well-known/api-catalog', '/api/actions'])
    t.match(html, `href="${link}"`);
  t.match(html, 'http://callsnare.test/mcp');
});

t.test('GET /llms.txt: a Markdown map for agents', async (t) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/llms.txt', headers: { host: 'callsnare.test' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/markdown/);
  t.match(res.body, /^# CallSnare\n\n> /);
  t.match(res.body, /6 live protected, 4 live internal, 2 planned/);
  for (const action of ACTIONS) t.match(res.body, `\`${action.name}\``);
  for (const path of ['/api/private/v1/openapi.json', '/docs/actions', '/mcp', '/api/actions'])
    t.match(res.body, `(http://callsnare.test${path})`);
  t.match(res.body, /org-scoped token/);
});

t.test('GET /.well-known/api-catalog: an RFC 9727 linkset pointing at the OpenAPI document, the docs, the catalog and MCP', async (t) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/.well-known/api-catalog', headers: { host: 'callsnare.test' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/linkset\+json/);
  const { linkset } = res.json();
  t.match(linkset[0], {
    anchor: 'http://callsnare.test/api/private/v1',
    'service-desc': [{ href: 'http://callsnare.test/api/private/v1/openapi.json' }],
    'service-doc': [{ href: 'http://callsnare.test/docs/actions' }],
  });
  t.ok(linkset[0]['service-meta'].some((l: any) => l.href === 'http://callsnare.test/api/actions'));
  t.equal(linkset[1].anchor, 'http://callsnare.test/mcp');
  const head = await ctx.app.inject({ method: 'HEAD', url: '/.well-known/api-catalog' });
  t.equal(head.statusCode, 200);
});

t.test('GET /api/internal/v1/openapi.json: the internal plumbing endpoints, from their zod schemas, for members only', async (t) => {
  const orgId = await ctx.createOrg();
  const other = await ctx.createOrg();
  const fetchAs = (token?: string) =>
    ctx.app.inject({
      method: 'GET',
      url: '/api/internal/v1/openapi.json',
      ...(token && { headers: { authorization: `Bearer ${token}` } }),
    });
  t.equal((await fetchAs()).statusCode, 401, 'no token');
  t.equal((await fetchAs((await ctx.token(orgId)).token)).statusCode, 401, 'an integration token is not a member token');
  for (const role of ['owner', 'admin', 'member', 'auditor'] as const) {
    t.equal((await fetchAs((await ctx.memberToken(role === 'auditor' ? other : orgId, role)).token)).statusCode, 200, role);
  }
  const document = (await fetchAs((await ctx.memberToken(orgId, 'member')).token)).json();
  t.equal(document.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(document);
  t.same(result.errors ?? [], [], 'valid OpenAPI 3.1');
  const paths = Object.keys(document.paths);
  for (const path of [
    '/leads',
    '/leads/{leadId}',
    '/leads/{leadId}/status',
    '/settings',
    '/members',
    '/tokens',
    '/audit/events',
    '/webhook-endpoints',
  ]) {
    t.ok(paths.includes(path), `${path} is documented`);
  }
  t.notOk(paths.includes('/openapi.json'));
  t.match(document.paths['/leads/{leadId}/status'].post.requestBody.content['application/json'].schema, {
    properties: { status: { enum: ['active', 'booked', 'won', 'lost'] } },
  });
});
