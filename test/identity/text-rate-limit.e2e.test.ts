// A member cannot text one caller without end (issue 21 item 16): replies are limited per lead and per
// person in a window, counted in PostgreSQL before anything is recorded; past a limit the answer is 429
// `text_rate_limited` with Retry-After and nothing is requested. A retry of a message already requested
// (same clientMessageId) is not counted. Who may call the route: owner, admin, member of the lead's org.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { TEXT_WINDOW_MS, TEXTS_PER_LEAD, TEXTS_PER_MEMBER } from '../../src/http/api/internal/v1/leads.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { testApp, testClock } from '../support/app.ts';
import { settle, sid } from '../webhooks/fixtures/providers.ts';

const clock = testClock('2026-12-01T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services, database } = ctx;
const BUSINESS = '+15125550100';
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });

let nextCaller = 5551400;
const twilio = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
async function lead(): Promise<string> {
  const { lead } = await recordMissedCall(services, twilio(orgA), {
    callSid: sid('CA'),
    from: `+1512${nextCaller++}`,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  await settle(ctx);
  return lead.id;
}
const send = (token: string | undefined, leadId: string, clientMessageId = randomUUID()) =>
  app.inject({
    method: 'POST',
    url: `/api/internal/v1/leads/${leadId}/messages`,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    payload: { body: 'We can come by at 3', clientMessageId },
  });
const requested = async (leadId: string) => {
  const { rows } = await database.pool.query<{ n: string }>(
    "select count(*) as n from es_events where stream_id = $1 and event_type = 'OutboundTextRequested'",
    [`lead-${leadId}`],
  );
  return Number(rows[0]!.n);
};

t.test(`one caller gets at most ${TEXTS_PER_LEAD} texts per window; then 429 with Retry-After and nothing sent`, async (t) => {
  const member = await ctx.memberToken(orgA, 'member');
  const leadId = await lead();
  const first = randomUUID();
  for (let i = 0; i < TEXTS_PER_LEAD; i++) {
    const res = await send(member.token, leadId, i === 0 ? first : undefined);
    t.equal(res.statusCode, 202, res.body);
  }
  const refused = await send(member.token, leadId);
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().code, 'text_rate_limited');
  t.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= TEXT_WINDOW_MS / 1000);
  t.equal(await requested(leadId), TEXTS_PER_LEAD, 'the refused text was not requested');
  const again = await send(member.token, leadId, first);
  t.equal(again.statusCode, 202, 'a retry of a message already requested is answered, not counted');
  const colleague = await ctx.memberToken(orgA, 'admin');
  t.equal((await send(colleague.token, leadId)).statusCode, 429, 'the limit is per caller: another member is held too');
  t.equal((await send(member.token, await lead())).statusCode, 202, 'another caller is not affected');
  clock.advance(TEXT_WINDOW_MS + 1000);
  t.equal((await send(member.token, leadId)).statusCode, 202, 'the next window allows texts again');
});

t.test(`one person sends at most ${TEXTS_PER_MEMBER} texts per window across callers`, async (t) => {
  const member = await ctx.memberToken(orgA, 'member');
  const leads = await Promise.all(Array.from({ length: Math.ceil(TEXTS_PER_MEMBER / 5) + 1 }, () => lead()));
  let sent = 0;
  for (const leadId of leads)
    for (let i = 0; i < 5 && sent < TEXTS_PER_MEMBER; i++, sent++) t.equal((await send(member.token, leadId)).statusCode, 202);
  const refused = await send(member.token, leads.at(-1)!);
  t.equal(refused.statusCode, 429);
  t.match(refused.json().detail, /per person/);
  t.equal((await send((await ctx.memberToken(orgA, 'member')).token, leads.at(-1)!)).statusCode, 202, 'another person is not affected');
});

t.test('refused to an auditor, another org and no token', async (t) => {
  const leadId = await lead();
  const auditor = await ctx.memberToken(orgA, 'auditor');
  t.equal((await send(auditor.token, leadId)).statusCode, 403);
  const outsider = await ctx.memberToken(orgB, 'owner');
  t.equal((await send(outsider.token, leadId)).statusCode, 404);
  t.equal((await send(undefined, leadId)).statusCode, 401);
  t.equal(await requested(leadId), 0);
});
