import { randomUUID } from 'node:crypto';
import t from 'tap';
import { recordMissedCall } from '../../src/commands/leads.ts';
import type { Messaging, OutboundMessage } from '../../src/automation/messaging/port.ts';
import { bookingStream } from '../../src/domain/booking.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { automationApp } from '../automation/support.ts';

/**
 * CONTRACT §8: "the first automated text to a number ends with the org's opt-out line". Whether a text is
 * the first is decided where its intent is recorded (the send ledger), under a lock per (org, number):
 * first texts racing to one number — in one org or in two — carry the line exactly once per org, on a
 * real database with separate connections (as separate worker processes would).
 */
const ctx = await automationApp(t);
const { services } = ctx;
const LINE = 'Reply STOP to opt out.';
const BUSINESS = '+15125550100';

const message = (orgId: string, to: string, kind: OutboundMessage['kind'] = 'confirmation'): OutboundMessage => ({
  key: `race:${randomUUID()}`,
  orgId,
  kind,
  to,
  body: 'Your visit is confirmed.',
  subject: `booking-${randomUUID()}`,
  ...(kind !== 'reply' && { optOutLine: LINE }),
});

async function bodiesTo(orgId: string, to: string) {
  return (await ctx.outbound()).filter((m) => m.org_id === orgId && m.to === to).map((m) => m.body);
}

t.test('six automated texts at once to a new number, in each of two orgs: each org carries the line once', async (t) => {
  await ctx.reset();
  const orgs = [await ctx.createOrg(), await ctx.createOrg()];
  for (let round = 0; round < 4; round++) {
    const to = `+1512555${String(1000 + round)}`;
    const sent = await Promise.all(orgs.flatMap((orgId) => Array.from({ length: 6 }, () => ctx.deps.messaging.send(message(orgId, to)))));
    for (const orgId of orgs) {
      const bodies = await bodiesTo(orgId, to);
      t.equal(bodies.length, 6);
      t.equal(bodies.filter((b) => b === `Your visit is confirmed.\n${LINE}`).length, 1, `round ${round}: one first text in the org`);
      t.equal(bodies.filter((b) => b === 'Your visit is confirmed.').length, 5);
    }
    t.equal(sent.filter((s) => s.body.endsWith(LINE)).length, 2, 'the sends report the bodies as sent');
  }
});

t.test("a member's reply is not an automated text: it never carries the line, and the next automated text still does", async (t) => {
  await ctx.reset();
  const orgId = await ctx.createOrg();
  const to = '+15125552000';
  const reply = await ctx.deps.messaging.send(message(orgId, to, 'reply'));
  t.equal(reply.body, 'Your visit is confirmed.');
  const [first, second] = await Promise.all([ctx.deps.messaging.send(message(orgId, to)), ctx.deps.messaging.send(message(orgId, to))]);
  t.same([first!.body, second!.body].filter((b) => b.endsWith(LINE)).length, 1);
});

t.test('a text-back and a confirmation to a new caller run at once in two runners: the line once, the evidence as sent', async (t) => {
  await ctx.reset();
  const orgId = await ctx.createOrg({ phones: [BUSINESS] });
  const caller = '+15125553000';
  const provider = { orgId, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
  const { lead } = await recordMissedCall(services, provider, {
    callSid: `CA${randomUUID().replaceAll('-', '')}`,
    from: caller,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: ctx.clock().toISOString(),
  });
  const bookingId = await ctx.book(orgId, { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' }, caller);
  await ctx.queue();
  // Both sends wait for each other before they record their intent: they reach the ledger together.
  let waiting: (() => void)[] = [];
  let met = 0;
  const meet = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === 2) {
        met++;
        for (const go of waiting) go();
        waiting = [];
      }
      setTimeout(resolve, 10_000);
    });
  const racing: Messaging = {
    provider: 'log',
    async send(m, options) {
      await meet();
      return ctx.deps.messaging.send(m, options);
    },
  };
  await Promise.all([ctx.runDue({ messaging: racing }), ctx.runDue({ messaging: racing })]);
  t.equal(met, 1, 'the two sends met');
  const rows = (await ctx.outbound()).filter((m) => m.to === caller);
  t.same(rows.map((m) => m.kind).sort(), ['confirmation', 'text_back']);
  const withLine = rows.filter((m) => m.body.endsWith(`\n${LINE}`));
  t.equal(withLine.length, 1, `exactly one carries the line (${withLine.map((m) => m.kind).join()})`);
  // The lead's evidence records the text-back's body as it went out (a confirmation's evidence holds no body).
  const textBack = (await services.store.readStream(leadStream(lead.id))).find((e) => e.type === 'TextBackSent');
  t.equal((textBack?.data as { body: string }).body, rows.find((m) => m.kind === 'text_back')!.body);
  t.ok(await services.store.readStream(bookingStream(bookingId)).then((es) => es.some((e) => e.type === 'ConfirmationSent')));
});
