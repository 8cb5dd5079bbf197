import t from 'tap';
import { changeLeadStatus, recordOutboundText } from '../../src/commands/leads.ts';
import { leadIdFor } from '../../src/domain/ids.ts';
import { testApp, operator } from '../support/app.ts';
import { inboundSms, messageStatus, postTwilio, PROVIDER_ENV, settle, sid, voiceStatusCallback } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t, { env: PROVIDER_ENV });
const { app, services, database } = ctx;
const BUSINESS = '+15125550100';
const orgId = await ctx.createOrg({ phones: [BUSINESS] });
await settle(ctx);

async function snapshot() {
  const leads = await database.pool.query('select * from leads order by id');
  const timeline = await database.pool.query('select * from lead_timeline order by lead_id, revision');
  return { leads: leads.rows, timeline: timeline.rows };
}

t.test('the leads and lead_timeline read models rebuild from the events to the same rows', async (t) => {
  for (let i = 0; i < 4; i++) {
    const caller = `+1512555060${i}`;
    await postTwilio(
      app,
      '/webhooks/twilio/voice',
      voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }),
    );
    await postTwilio(app, '/webhooks/twilio/sms', inboundSms({ messageSid: sid('SM'), from: caller, to: BUSINESS, body: `text ${i}` }));
    const leadId = leadIdFor(orgId, caller, 0);
    const messageSid = sid('SM');
    await recordOutboundText(services, operator(orgId), {
      leadId,
      messageId: messageSid,
      to: caller,
      body: 'on our way',
      kind: 'manual',
      sentAt: new Date().toISOString(),
    });
    await postTwilio(
      app,
      '/webhooks/twilio/message-status',
      messageStatus({ messageSid, from: BUSINESS, to: caller, status: 'delivered' }),
    );
    if (i % 2) await changeLeadStatus(services, operator(orgId), leadId, { to: 'won', reason: 'paid' });
  }
  await settle(ctx);
  const live = await snapshot();
  t.equal(live.leads.length, 4);
  t.equal(live.timeline.length, 4 * 3 + 2);
  t.ok(live.leads.every((row) => row.org_id === orgId) && live.timeline.every((row) => row.org_id === orgId), 'every row carries org_id');

  await database.pool.query('truncate leads, lead_timeline');
  await database.pool.query("delete from projection_checkpoints where name in ('leads', 'lead_timeline')");
  await settle(ctx);
  t.same(await snapshot(), live, 'identical after replaying every event');
});
