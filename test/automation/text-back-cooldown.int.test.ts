// One text-back per conversation (CONTRACT §10): a caller texted back, or answered by the team, within the
// org's `textBackCooldownMinutes` is not texted back again on a new missed call; the skip is on the lead's
// timeline with its reason. Decided at send time under a lock per (org, caller), so two missed calls handled
// at once by two workers still send one text.
import t from 'tap';
import { memberCaller, twilioCaller } from '../support/app.ts';
import type { Messaging } from '../../src/automation/messaging/port.ts';
import { logCallBack, recordMissedCall, requestOutboundText } from '../../src/commands/leads.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { summarize } from '../../src/domain/summary.ts';
import type { DomainEvent } from '../../src/domain/events/index.ts';
import { sid } from '../webhooks/fixtures/providers.ts';
import { START, automationApp } from './support.ts';

const app = await automationApp(t);
const { services, clock } = app;
const BUSINESS = '+15125550100';
const API = '/api/internal/v1';
t.beforeEach(() => app.reset());

const twilio = twilioCaller;
const member = memberCaller;

async function missedCall(orgId: string, caller: string) {
  const { lead } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: caller,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  return lead.id;
}

const minutes = (n: number) => clock.set(new Date(clock().getTime() + n * 60_000).toISOString());
const textBacksTo = async (caller: string) => (await app.outbound()).filter((m) => m.kind === 'text_back' && m.to === caller);
const leadEvents = (leadId: string) => services.store.readStream(leadStream(leadId));
const skips = async (leadId: string) =>
  (await leadEvents(leadId)).filter((e) => e.type === 'TextBackSkipped').map((e) => (e.data as { reason: string }).reason);

/** Sets the cooldown as an admin does, through the settings API. */
async function setCooldown(orgId: string, value: unknown) {
  const admin = await app.memberToken(orgId, 'admin');
  return app.app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { textBackCooldownMinutes: value },
  });
}

t.test('the setting: 60 by default, changed by an admin, bad values refused with nothing changed', async (t) => {
  const orgId = await app.createOrg({ phones: [BUSINESS] });
  const admin = await app.memberToken(orgId, 'admin');
  const get = await app.app.inject({ method: 'GET', url: `${API}/settings`, headers: { authorization: `Bearer ${admin.token}` } });
  t.equal(get.json().settings.textBackCooldownMinutes, 60);
  for (const bad of [-1, 1.5, 10081, '30', null]) {
    const res = await setCooldown(orgId, bad);
    t.equal(res.statusCode, 400, `${JSON.stringify(bad)} is refused`);
    t.match(res.headers['content-type'], /application\/problem\+json/);
  }
  await app.catchUpAll();
  const unchanged = await app.app.inject({ method: 'GET', url: `${API}/settings`, headers: { authorization: `Bearer ${admin.token}` } });
  t.equal(unchanged.json().settings.textBackCooldownMinutes, 60, 'nothing changed');
  const put = await setCooldown(orgId, 15);
  t.equal(put.statusCode, 200);
  t.equal(put.json().settings.textBackCooldownMinutes, 15);
  const memberToken = await app.memberToken(orgId, 'member');
  const refused = await app.app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: { authorization: `Bearer ${memberToken.token}` },
    payload: { textBackCooldownMinutes: 5 },
  });
  t.equal(refused.statusCode, 403, 'a member cannot change it');
});

t.test('two missed calls a minute apart: one text-back, the second skipped with its reason on the timeline', async (t) => {
  const orgId = await app.createOrg({ phones: [BUSINESS] });
  const caller = '+15125550177';
  const leadId = await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 1, 'the first call is texted back');
  minutes(1);
  t.equal(await missedCall(orgId, caller), leadId, 'the second call lands on the same lead');
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 1, 'the second call is not texted back');
  const reasons = await skips(leadId);
  t.same(reasons, ['already texted back 1 minute ago (one text-back per 60 minutes)']);
  const skipped = (await leadEvents(leadId)).find((e) => e.type === 'TextBackSkipped')!;
  t.equal(
    summarize({ type: skipped.type, data: skipped.data } as DomainEvent),
    'text-back skipped: already texted back 1 minute ago (one text-back per 60 minutes)',
    'the timeline says why in plain words',
  );

  minutes(60);
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 2, 'after the cooldown, a new missed call is texted back again');
  t.equal((await skips(leadId)).length, 1);
});

t.test('the org sets its own cooldown; 0 texts back every missed call', async (t) => {
  const orgId = await app.createOrg({ phones: [BUSINESS] });
  t.equal((await setCooldown(orgId, 10)).statusCode, 200);
  const caller = '+15125550178';
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  minutes(11);
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 2, 'eleven minutes is past a 10-minute cooldown');
  t.equal((await setCooldown(orgId, 0)).statusCode, 200);
  minutes(1);
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 3, 'no cooldown: texted back again a minute later');
});

t.test("the team answered within the cooldown (a member's text, or a logged call-back): the caller is not texted back", async (t) => {
  const orgId = await app.createOrg({ phones: [BUSINESS] });
  const caller = '+15125550179';
  const leadId = await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  minutes(120); // the first text-back is long past
  await requestOutboundText(services, member(orgId), leadId, { body: 'Hi, Dana from Acme here. Still need help?', clientMessageId: 'c1' });
  await app.queue();
  await app.runDue();
  t.equal((await app.outbound()).filter((m) => m.kind === 'reply').length, 1, "the member's text went out");
  minutes(5);
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 1, 'no second text-back');
  t.same(await skips(leadId), ['the team replied 5 minutes ago (one text-back per 60 minutes)']);

  minutes(120);
  await logCallBack(services, member(orgId), leadId, { outcome: 'voicemail' });
  minutes(2);
  await missedCall(orgId, caller);
  await app.queue();
  await app.runDue();
  t.equal((await textBacksTo(caller)).length, 1, 'a logged call-back answers too');
  t.same((await skips(leadId)).at(-1), 'the team called back 2 minutes ago (one text-back per 60 minutes)');
});

t.test('two missed calls handled at once by two workers: one text-back, one skip', async (t) => {
  const orgId = await app.createOrg({ phones: [BUSINESS] });
  for (let round = 0; round < 3; round++) {
    const caller = `+1512555${String(1200 + round)}`;
    const leadId = await missedCall(orgId, caller);
    clock.set(new Date(clock().getTime() + 3_000).toISOString());
    await missedCall(orgId, caller);
    await app.queue();
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
        return app.deps.messaging.send(m, options);
      },
    };
    await Promise.all([app.runDue({ messaging: racing }), app.runDue({ messaging: racing })]);
    t.equal(met, 1, `round ${round}: the two sends met`);
    t.equal((await textBacksTo(caller)).length, 1, `round ${round}: one text-back`);
    const events = await leadEvents(leadId);
    t.equal(events.filter((e) => e.type === 'TextBackSent').length, 1);
    t.match(await skips(leadId), [/^already texted back just now \(one text-back per 60 minutes\)$/]);
  }
  t.equal(clock().getTime() > Date.parse(START), true);
});
