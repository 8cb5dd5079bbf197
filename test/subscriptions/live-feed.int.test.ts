import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { recordMissedCall } from '../../src/commands/leads.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { formatPosition } from '../../src/eventstore/position.ts';
import { LiveFeed } from '../../src/subscriptions/live-feed.ts';
import { testApp } from '../support/app.ts';
import { sid } from '../webhooks/fixtures/providers.ts';
import { openSse, type SseConnection } from '../web/sse-client.ts';

/**
 * The live feed (CONTRACT §7 "Live updates") against a real listening server, read by a raw HTTP client:
 * one event-store subscription per process fanned out by org; Last-Event-ID resumes exactly.
 */
const ctx = await testApp(t);
const { app, services } = ctx;
// Count the store's subscriptions: the feed must open one, however many pages listen.
let subscriptions = 0;
const subscribe = services.store.subscribe.bind(services.store);
services.store.subscribe = (options) => {
  subscriptions++;
  return subscribe(options);
};
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

const BUSINESS_A = '+15125550100';
const BUSINESS_B = '+15125550111';
const orgA = await ctx.createOrg({ phones: [BUSINESS_A] });
const orgB = await ctx.createOrg({ phones: [BUSINESS_B] });
const memberA = await ctx.memberToken(orgA, 'member');
const auditorA = await ctx.memberToken(orgA, 'auditor');
const memberB = await ctx.memberToken(orgB, 'member');
type Json = Record<string, any>;
let nextCaller = 5554300;

const twilio = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
async function missedCall(orgId: string) {
  const { position } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: `+1512${nextCaller++}`,
    to: orgId === orgA ? BUSINESS_A : BUSINESS_B,
    callStatus: 'no-answer',
    calledAt: new Date().toISOString(),
  });
  return formatPosition(position!);
}

const open = (token: string, headers: Record<string, string> = {}) =>
  openSse(`${base}/app/events`, { authorization: `Bearer ${token}`, ...headers });
const connections: SseConnection[] = [];
t.teardown(() => connections.forEach((c) => c.close()));
async function connect(token: string, headers: Record<string, string> = {}) {
  const c = await open(token, headers);
  connections.push(c);
  // Listening starts once the stream is open: the "connected" comment is written after the headers.
  await c.waitFor(() => c.comments.includes('connected'), 20_000).catch(() => {});
  return c;
}
const ids = (c: SseConnection) => c.messages.map((m) => m.id);

t.test('an event appended after connect arrives as id = position, event = type, data = a small summary', async (t) => {
  const c = await connect(memberA.token);
  t.equal(c.status, 200);
  t.match(c.headers['content-type'], /^text\/event-stream/);
  t.equal(c.headers['cache-control'], 'no-cache, no-transform');
  // The feed starts at the head: what happened before connecting is not replayed without Last-Event-ID.
  await new Promise((r) => setTimeout(r, 300));
  t.same(c.messages, []);
  const position = await missedCall(orgA);
  await c.waitFor((m) => m.some((x) => x.event === 'MissedCallRecorded'));
  const message = c.messages.find((m) => m.event === 'MissedCallRecorded')!;
  t.equal(message.id, position);
  const data = JSON.parse(message.data) as Json;
  t.match(data, {
    streamId: /^lead-/,
    type: 'MissedCallRecorded',
    occurredAt: String,
    actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  });
  t.same(Object.keys(data).sort(), ['actor', 'occurredAt', 'streamId', 'type'], 'a summary, not the payload');
  c.close();
});

t.test("another org's events never arrive; each org's listeners share one subscription", async (t) => {
  const a = await connect(memberA.token);
  const a2 = await connect(auditorA.token);
  const b = await connect(memberB.token);
  for (let i = 0; i < 3; i++) await missedCall(orgB);
  const last = await missedCall(orgA);
  await a.waitFor((m) => m.some((x) => x.id === last));
  await a2.waitFor((m) => m.some((x) => x.id === last));
  await b.waitFor((m) => m.filter((x) => x.event === 'MissedCallRecorded').length === 3);
  for (const c of [a, a2]) {
    t.ok(c.messages.every((m) => JSON.parse(m.data).streamId.startsWith('lead-')));
    t.equal(c.messages.filter((m) => m.event === 'MissedCallRecorded').length, 1, "only org A's missed call");
  }
  t.notOk(ids(b).includes(last), "org A's event never reaches org B");
  t.equal(app.liveFeed.size, 3, 'three listeners');
  t.equal(subscriptions, 1, 'one event-store subscription for all of them, for the life of the process');
  t.ok(app.liveFeed.running);
  [a, a2, b].forEach((c) => c.close());
});

t.test('a reconnect with Last-Event-ID gets exactly the missed events, then the live ones', async (t) => {
  const first = await connect(memberA.token);
  const seen = await missedCall(orgA);
  await first.waitFor((m) => m.some((x) => x.id === seen));
  first.close();
  const missed = [await missedCall(orgA), await missedCall(orgB), await missedCall(orgA)];
  const expectedMissed = [missed[0]!, missed[2]!];
  const again = await connect(memberA.token, { 'last-event-id': seen });
  // Missed calls open leads: each call is LeadOpened + MissedCallRecorded; compare on the missed calls' positions.
  await again.waitFor((m) => expectedMissed.every((id) => m.some((x) => x.id === id)));
  const live = await missedCall(orgA);
  await again.waitFor((m) => m.some((x) => x.id === live));
  const got = again.messages.map((m) => m.id!);
  t.notOk(got.includes(seen), 'nothing at or before Last-Event-ID');
  t.equal(new Set(got).size, got.length, 'no duplicate');
  t.same(
    got,
    [...got].sort((x, y) =>
      (BigInt(x.split('.')[0]!) - BigInt(y.split('.')[0]!) || Number(BigInt(x.split('.')[1]!) - BigInt(y.split('.')[1]!))) > 0 ? 1 : -1,
    ),
    'in commit order',
  );
  t.same(
    got.filter((id) => again.messages.find((m) => m.id === id)!.event === 'MissedCallRecorded'),
    [...expectedMissed, live],
    'exactly the missed ones, then the live one',
  );
  t.notOk(got.includes(missed[1]!), "not org B's");
  again.close();
});

t.test('GET /app/events: 401 without a member, 400 for a Last-Event-ID it never sent', async (t) => {
  const none = await openSse(`${base}/app/events`, {});
  t.equal(none.status, 401);
  none.close();
  const bad = await openSse(`${base}/app/events`, { authorization: `Bearer ${memberA.token}`, 'last-event-id': 'yesterday' });
  t.equal(bad.status, 400);
  bad.close();
});

t.test('LiveFeed hand-over: a listener resuming while writers append gets every org event after its position once, in order', async (t) => {
  const feed = new LiveFeed(services.store);
  t.teardown(() => feed.close());
  const start = await missedCall(orgA);
  const live: RecordedEvent[] = [];
  await feed.listen(orgA, null, (e) => live.push(e));
  // Writers run while a second listener resumes from `start`: the replay and the live stream overlap.
  const writing = Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 10; i++) await missedCall(w % 2 ? orgB : orgA);
    }),
  );
  await new Promise((r) => setTimeout(r, 50));
  const resumed: RecordedEvent[] = [];
  await feed.listen(orgA, { commit: BigInt(start.split('.')[0]!), prepare: BigInt(start.split('.')[1]!) }, (e) => resumed.push(e));
  await writing;
  const end = await missedCall(orgA);
  const deadline = Date.now() + 30_000;
  while (!resumed.some((e) => formatPosition(e.position) === end) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const expected = [];
  let from = { commit: BigInt(start.split('.')[0]!), prepare: BigInt(start.split('.')[1]!) };
  for (;;) {
    const page = await services.store.readAll({ from, limit: 500, filter: { orgId: orgA } });
    expected.push(...page.events.map((e) => formatPosition(e.position)));
    if (page.events.length < 500) break;
    from = page.checkpoint!;
  }
  t.same(
    resumed.map((e) => formatPosition(e.position)),
    expected,
    "exactly the store's org events after the position, once each, in order",
  );
  t.ok(resumed.every((e) => e.metadata.orgId === orgA));
  t.ok(live.length > 0);
});
