// The MCP server (CONTRACT §6) driven by the official SDK client over Streamable HTTP against a listening
// server: tools per scope set, the same commands as the HTTP API (idempotency, tenancy, actor, `via: "mcp"`),
// and bad input answered with JSON-RPC errors, never a 5xx.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import t from 'tap';
import { configureOrg } from '../../src/commands/orgs.ts';
import { readAuditEvents } from '../../src/queries/audit.ts';
import { operator, testApp } from '../support/app.ts';

const ctx = await testApp(t, { server: { rateLimit: { max: 1000, timeWindowMs: 60_000 } } });
await ctx.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
const org = await ctx.createOrg();
const otherOrg = await ctx.createOrg();
const full = await ctx.token(org, ['READ_BOOKINGS', 'WRITE_BOOKINGS'], 'Booking agent');
const readOnly = await ctx.token(org, ['READ_BOOKINGS']);
const none = await ctx.token(org, ['READ_AVAILABILITY']);
const other = await ctx.token(otherOrg, ['READ_BOOKINGS', 'WRITE_BOOKINGS']);

/** An SDK client connected to /mcp with a token. */
async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'callsnare-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  t.teardown(() => client.close());
  return client;
}

const visit = (day: number) => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: { start: `2031-06-${String(day).padStart(2, '0')}T15:00:00Z`, end: `2031-06-${String(day).padStart(2, '0')}T17:00:00Z` },
});
const problemOf = (result: any) => JSON.parse(result.content[0].text);

/** A raw POST to /mcp (what a broken client might send). */
async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${full.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

t.test('tools are the live protected actions the token scopes allow, with schemas and truthful annotations', async (t) => {
  const names = async (token: string) => (await (await connect(token)).listTools()).tools.map((tool) => tool.name).sort();
  t.same(await names(full.token), ['cancel_booking', 'create_booking', 'get_booking', 'health', 'list_bookings', 'reschedule_booking']);
  t.same(await names(readOnly.token), ['get_booking', 'health', 'list_bookings']);
  t.same(await names(none.token), ['health'], 'a planned scope lists nothing while the action is not enabled');
  await t.rejects(
    (await connect(none.token)).callTool({ name: 'availability', arguments: {} }),
    { code: -32602, message: /planned action not enabled for this org; .*--enable-action availability/ },
    'calling a planned action before it is enabled says how to enable it',
  );

  const { tools } = await (await connect(full.token)).listTools();
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  t.match(byName.get('list_bookings')!.annotations, {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  });
  t.match(byName.get('create_booking')!.annotations, {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  });
  t.match(byName.get('cancel_booking')!.annotations, { readOnlyHint: false, destructiveHint: true });
  for (const name of ['create_booking', 'reschedule_booking', 'cancel_booking']) {
    t.ok((byName.get(name)!.inputSchema.required as string[]).includes('idempotencyKey'), `${name} requires idempotencyKey`);
  }
  t.match(byName.get('create_booking')!.inputSchema, {
    type: 'object',
    additionalProperties: false,
    properties: { customer: { type: 'object' }, window: { type: 'object' } },
  });
  t.match(byName.get('get_booking')!.outputSchema, { type: 'object', properties: { id: {}, version: {} } });

  await configureOrg(ctx.services, operator(org), { orgId: org, changes: { enabledActions: ['availability'] } });
  await ctx.catchUpAll();
  t.same(await names(none.token), ['availability', 'health'], 'a planned action appears once an operator enables it for the org');
  t.same(await names(readOnly.token), ['get_booking', 'health', 'list_bookings'], 'only for tokens with its scope');
  const planned: any = await (
    await connect(none.token)
  ).callTool({
    name: 'availability',
    arguments: { from: '2031-06-02T00:00:00Z', to: '2031-06-09T00:00:00Z', duration: 120 },
  });
  t.notOk(planned.isError, JSON.stringify(planned.content));
  t.match(planned.structuredContent, { durationMinutes: 120, windows: Array, guidance: Array });
  const deniedPlanned: any = await (
    await connect(readOnly.token)
  ).callTool({
    name: 'availability',
    arguments: { from: '2031-06-02T00:00:00Z', to: '2031-06-09T00:00:00Z' },
  });
  t.match(problemOf(deniedPlanned), { status: 403, detail: /READ_AVAILABILITY/ });
  await configureOrg(ctx.services, operator(org), { orgId: org, changes: { enabledActions: [] } });
  await ctx.catchUpAll();
});

t.test('create, replay and conflicting replay: the idempotencyKey has the header semantics, and the result is the HTTP JSON', async (t) => {
  const client = await connect(full.token);
  const created: any = await client.callTool({ name: 'create_booking', arguments: { ...visit(2), idempotencyKey: 'mcp-1' } });
  t.notOk(created.isError, JSON.stringify(created.content));
  const booking = created.structuredContent as { id: string; version: number };
  t.match(booking, {
    id: String,
    orgId: org,
    status: 'scheduled',
    source: { actorType: 'integration', actorId: full.id, label: 'Booking agent' },
  });

  const replay: any = await client.callTool({ name: 'create_booking', arguments: { ...visit(2), idempotencyKey: 'mcp-1' } });
  t.same(replay.structuredContent, booking, 'the same key and arguments: the same booking, nothing written');

  const conflict: any = await client.callTool({ name: 'create_booking', arguments: { ...visit(3), idempotencyKey: 'mcp-1' } });
  t.equal(conflict.isError, true);
  t.match(problemOf(conflict), { status: 409, code: 'idempotency_key_reused' });

  const http = await ctx.app.inject({
    method: 'POST',
    url: '/api/private/v1/bookings',
    headers: { authorization: `Bearer ${full.token}`, 'idempotency-key': 'mcp-1' },
    payload: visit(2),
  });
  t.equal(http.statusCode, 201);
  t.equal(http.headers['idempotent-replayed'], 'true', 'one key means the same on both surfaces');
  t.same(http.json(), booking, 'the HTTP API returns the same JSON');

  const missingKey: any = await client.callTool({ name: 'create_booking', arguments: visit(4) });
  t.equal(missingKey.isError, true);
  t.match(problemOf(missingKey), { status: 400, code: 'validation_failed', errors: [{ path: 'arguments.idempotencyKey' }] });
  const badKey: any = await client.callTool({ name: 'create_booking', arguments: { ...visit(4), idempotencyKey: 'été' } });
  t.match(problemOf(badKey), { status: 400, errors: [{ path: 'headers.idempotency-key' }] });

  const moved: any = await client.callTool({
    name: 'reschedule_booking',
    arguments: { bookingId: booking.id, idempotencyKey: 'mcp-2', window: visit(5).window, ifMatch: booking.version },
  });
  t.match(moved.structuredContent, { window: { start: '2031-06-05T15:00:00.000Z' }, version: booking.version + 1 });
  const stale: any = await client.callTool({
    name: 'cancel_booking',
    arguments: { bookingId: booking.id, idempotencyKey: 'mcp-3', ifMatch: booking.version },
  });
  t.match(problemOf(stale), { status: 412, code: 'version_mismatch' });
  const canceled: any = await client.callTool({
    name: 'cancel_booking',
    arguments: { bookingId: booking.id, idempotencyKey: 'mcp-4', reason: 'no longer needed' },
  });
  t.match(canceled.structuredContent, { status: 'canceled', cancelReason: 'no longer needed' });
  const again: any = await client.callTool({
    name: 'cancel_booking',
    arguments: { bookingId: booking.id, idempotencyKey: 'mcp-4', reason: 'no longer needed' },
  });
  t.same(again.structuredContent, canceled.structuredContent, 'a retried cancel replays');

  // The audit timeline shows what the agent did: the token's actor, via MCP.
  await ctx.catchUpAll();
  const { events } = await readAuditEvents(ctx.services.store, org, { stream: `booking-${booking.id}`, from: null, limit: 50 });
  t.same(
    events.map((e) => [e.type, e.metadata.actor.id, e.metadata.via]),
    [
      ['BookingCreated', full.id, 'mcp'],
      ['BookingRescheduled', full.id, 'mcp'],
      ['BookingCanceled', full.id, 'mcp'],
    ],
  );
  const timeline = await ctx.app.inject({
    method: 'GET',
    url: `/api/internal/v1/audit/events?stream=booking-${booking.id}`,
    headers: { authorization: `Bearer ${(await ctx.memberToken(org, 'auditor')).token}` },
  });
  t.match(timeline.json().data[0], { type: 'BookingCreated', actor: { type: 'integration', id: full.id }, via: 'mcp' });
});

t.test("reads: list and get; another org's booking is not found; a missing scope is an error result naming it", async (t) => {
  const writer = await connect(full.token);
  const created: any = await writer.callTool({ name: 'create_booking', arguments: { ...visit(10), idempotencyKey: 'mcp-read-1' } });
  const id = created.structuredContent.id;
  await ctx.catchUpAll();
  const reader = await connect(readOnly.token);
  const got: any = await reader.callTool({ name: 'get_booking', arguments: { bookingId: id } });
  t.equal(got.structuredContent.id, id);
  const list: any = await reader.callTool({
    name: 'list_bookings',
    arguments: { from: '2031-06-10T00:00:00Z', to: '2031-06-11T00:00:00Z' },
  });
  t.same(
    list.structuredContent.data.map((b: any) => b.id),
    [id],
  );
  t.equal(list.structuredContent.nextCursor, null);

  const foreign: any = await (await connect(other.token)).callTool({ name: 'get_booking', arguments: { bookingId: id } });
  t.equal(foreign.isError, true);
  t.match(problemOf(foreign), { status: 404, code: 'not_found' });
  const absent: any = await reader.callTool({ name: 'get_booking', arguments: { bookingId: randomUUID() } });
  t.same(problemOf(absent).detail, problemOf(foreign).detail, 'absent and foreign look the same');

  const denied: any = await reader.callTool({ name: 'cancel_booking', arguments: { bookingId: id, idempotencyKey: 'mcp-read-2' } });
  t.equal(denied.isError, true);
  t.match(problemOf(denied), { status: 403, code: 'insufficient_scope', detail: /WRITE_BOOKINGS/ });
  const still: any = await reader.callTool({ name: 'get_booking', arguments: { bookingId: id } });
  t.equal(still.structuredContent.status, 'scheduled', 'nothing was written');

  const health: any = await reader.callTool({ name: 'health', arguments: {} });
  t.match(health.structuredContent, { actorType: 'integration', scopes: ['READ_BOOKINGS'], orgId: org });
});

t.test('no token or a bad one: 401 pointing at the protected resource metadata (RFC 9728)', async (t) => {
  for (const authorization of [undefined, 'Bearer cs_live_0000000000000000000000000000000000000a']) {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(authorization && { authorization }),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate'), `resource_metadata="${base}/.well-known/oauth-protected-resource"`);
    t.match(await res.json(), { jsonrpc: '2.0', error: { code: -32000 } });
  }
  const metadata = await fetch(`${base}/.well-known/oauth-protected-resource`);
  t.match(await metadata.json(), { resource: `${base}/mcp`, bearer_methods_supported: ['header'], scopes_supported: Array });
  const client = new Client({ name: 'x', version: '1' });
  await t.rejects(client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`))), 'the SDK client without a token is refused');
});

t.test('bad input gets the spec error codes, never a 5xx, and writes nothing', async (t) => {
  const init = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };
  const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: init }));
  t.equal(ok.status, 200);
  t.match(ok.body, { id: 1, result: { serverInfo: { name: 'callsnare' } } });

  const cases: [string, string, number, number][] = [
    ['malformed JSON', '{"jsonrpc":"2.0",', 400, -32700],
    ['not JSON-RPC', JSON.stringify({ hello: 'world' }), 400, -32700],
    ['a batch', JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]), 400, -32600],
    ['a bare string', JSON.stringify('tools/list'), 400, -32600],
    ['an unknown method', JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/explode' }), 200, -32601],
    [
      'an unknown tool',
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'book_a_unicorn', arguments: {} } }),
      200,
      -32602,
    ],
    [
      'a NUL in the arguments',
      JSON.stringify({
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'create_booking', arguments: { ...visit(20), notes: 'a\u0000b', idempotencyKey: 'nul' } },
      }),
      400,
      -32602,
    ],
    [
      'a lone surrogate in the arguments',
      `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"create_booking","arguments":{"notes":"\\ud800","idempotencyKey":"sur"}}}`,
      400,
      -32602,
    ],
    [
      'oversized arguments',
      JSON.stringify({
        jsonrpc: '2.0',
        id: 6,
        method: 'tools/call',
        params: { name: 'create_booking', arguments: { ...visit(20), notes: 'x'.repeat(70_000), idempotencyKey: 'big' } },
      }),
      413,
      -32600,
    ],
  ];
  for (const [what, body, status, code] of cases) {
    const res = await post(body);
    t.equal(res.status, status, `${what}: HTTP ${status}`);
    t.equal(res.body?.error?.code, code, `${what}: JSON-RPC ${code}`);
    t.equal(res.body?.jsonrpc, '2.0', `${what}: a JSON-RPC response`);
  }
  const more: [string, unknown, number][] = [
    [
      'arguments that are not an object',
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'health', arguments: 'x' } },
      -32602,
    ],
    ['a tools/call without params', { jsonrpc: '2.0', id: 8, method: 'tools/call' }, -32602],
    ['arguments a tool does not take', { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'health', arguments: { x: 1 } } }, 0],
  ];
  for (const [what, message, code] of more) {
    const res = await post(JSON.stringify(message));
    t.ok(res.status < 500, `${what}: not a 5xx (${res.status})`);
    if (code) t.equal(res.body?.error?.code, code, `${what}: JSON-RPC ${code}`);
    else t.match(res.body?.result, { isError: true }, `${what}: an error result`);
  }
  const notification = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  t.equal(notification.status, 202, 'a notification is accepted with 202 and no body');
  const noAccept = await post(JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/list' }), { accept: 'application/json' });
  t.equal(noAccept.status, 406, 'a client that does not accept both media types is told so');
  const wrongType = await post('tools/list', { 'content-type': 'text/plain' });
  t.equal(wrongType.status, 415);
  t.equal(wrongType.body.error.code, -32600);
  for (const method of ['GET', 'DELETE']) {
    const res = await fetch(`${base}/mcp`, { method, headers: { authorization: `Bearer ${full.token}`, accept: 'text/event-stream' } });
    t.equal(res.status, 405, `${method} /mcp is 405`);
    t.equal(res.headers.get('allow'), 'POST');
    t.match(await res.json(), { jsonrpc: '2.0', error: { code: -32000 } });
  }
  const { events } = await readAuditEvents(ctx.services.store, org, { from: null, limit: 1000 });
  t.notOk(
    events.some((e) => e.type === 'BookingCreated' && ['nul', 'sur', 'big'].includes(e.metadata.idempotencyKey ?? '')),
    'nothing was written',
  );
});

t.test("the protected API's rate limit applies to /mcp, one budget per credential across both surfaces", async (t) => {
  const limited = await testApp(t, { server: { rateLimit: { max: 2, timeWindowMs: 60_000 } } });
  await limited.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(limited.app.server.address() as AddressInfo).port}`;
  const limitedOrg = await limited.createOrg();
  const { token } = await limited.token(limitedOrg, ['READ_BOOKINGS']);
  const health = await limited.app.inject({ method: 'GET', url: '/api/private/v1/health', headers: { authorization: `Bearer ${token}` } });
  t.equal(health.statusCode, 200);
  const call = () =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
  t.equal((await call()).status, 200);
  const refused = await call();
  t.equal(refused.status, 429);
  t.ok(refused.headers.get('retry-after'));
  t.match(await refused.json(), { error: { code: -32000 } });
});
