import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { createMessaging } from '../../src/automation/messaging/index.ts';
import { PermanentMessagingError, TransientMessagingError } from '../../src/automation/messaging/port.ts';
import { TwilioClient } from '../../src/automation/messaging/twilio.ts';
import { metadataFor } from '../../src/commands/execute.ts';
import { loadConfig } from '../../src/config.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { operator } from '../support/app.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { ACCOUNT_SID, AUTH_TOKEN, type Reply, fakeTwilio } from './fake-twilio.ts';
import { automationApp } from './support.ts';

const twilio = fakeTwilio();
const baseUrl = await twilio.listen();
t.teardown(() => twilio.close());
t.beforeEach(() => twilio.reset());

const client = (options: Partial<ConstructorParameters<typeof TwilioClient>[0]> = {}) =>
  new TwilioClient({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    baseUrl,
    backoffMs: 5,
    statusCallbackUrl: 'https://hooks.example.com/webhooks/twilio/message-status',
    ...options,
  });
const text = { to: '+15125550199', from: '+15125550100', body: 'Acme HVAC: your visit is confirmed.' };
const serviceUnavailable: Reply = {
  status: 503,
  body: { code: 20503, message: 'Service Unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503 },
};

t.test('a text is POSTed form-encoded to the account Messages resource with basic auth and the status callback', async (t) => {
  const sent = await client().send(text);
  t.match(sent, { sid: /^SM[0-9a-f]{32}$/, status: 'queued' });
  t.equal(twilio.received.length, 1);
  const [request] = twilio.received;
  t.equal(request!.method, 'POST');
  t.equal(request!.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
  t.equal(request!.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
  t.equal(request!.contentType, 'application/x-www-form-urlencoded');
  t.same(request!.form, {
    To: text.to,
    From: text.from,
    Body: text.body,
    StatusCallback: 'https://hooks.example.com/webhooks/twilio/message-status',
  });
});

t.test('a 429 is retried after its Retry-After, then the text goes out once', async (t) => {
  twilio.reply({ status: 429, headers: { 'retry-after': '0' }, body: { code: 20429, message: 'Too Many Requests', status: 429 } });
  const sent = await client().send(text);
  t.match(sent.sid, /^SM/);
  t.equal(twilio.received.length, 2);
});

t.test('5xx answers are retried with backoff until Twilio takes the text', async (t) => {
  twilio.reply({ status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 } }, serviceUnavailable);
  const sent = await client({ attempts: 3 }).send(text);
  t.match(sent.sid, /^SM/);
  t.equal(twilio.received.length, 3);
});

t.test('a Twilio that keeps failing surfaces a transient error after the attempts (the job is retried later)', async (t) => {
  twilio.always(serviceUnavailable);
  await t.rejects(client({ attempts: 3 }).send(text), new TransientMessagingError('Twilio 503 (code 20503): Service Unavailable', 503));
  t.equal(twilio.received.length, 3);
});

t.test('another 4xx is a permanent failure with Twilio’s code, never retried', async (t) => {
  twilio.always({
    status: 400,
    body: {
      code: 21211,
      message: "Invalid 'To' Phone Number: +15125550199",
      more_info: 'https://www.twilio.com/docs/errors/21211',
      status: 400,
    },
  });
  const error = await client()
    .send(text)
    .catch((e: unknown) => e);
  t.type(error, PermanentMessagingError);
  t.match(error, { status: 400, code: '21211', message: "Twilio 400 (code 21211): Invalid 'To' Phone Number: +15125550199" });
  t.equal(twilio.received.length, 1);
});

t.test('an unreachable Twilio is a transient failure', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await t.rejects(client({ baseUrl: `http://127.0.0.1:${port}`, attempts: 2 }).send(text), TransientMessagingError);
});

t.test('with MESSAGING=twilio a missed call is texted back through Twilio once, and the SID is the recorded message id', async (t) => {
  const app = await automationApp(t);
  const config = loadConfig({
    DATABASE_URL: app.database.url,
    MESSAGING: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: baseUrl,
    PUBLIC_BASE_URL: 'https://callsnare.example.com/',
  });
  const messaging = createMessaging(config, { db: app.services.db, clock: app.clock });
  t.equal(messaging.provider, 'twilio');
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: ['+15125550100', '+15125550101'] });
  await configureOrg(app.services, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });

  const missed = async (caller: string) => {
    const leadId = randomUUID();
    const callSid = `CA${randomBytes(16).toString('hex')}`;
    const metadata = metadataFor(
      { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: callSid },
      app.clock(),
    );
    await app.services.store.append(
      leadStream(leadId),
      [
        {
          type: 'LeadOpened',
          data: { leadId, orgId, callerPhone: caller, businessPhone: '+15125550101', generation: 0, source: 'missed_call' },
          metadata,
        },
        {
          type: 'MissedCallRecorded',
          data: { leadId, callSid, from: caller, to: '+15125550101', callStatus: 'busy', calledAt: app.clock().toISOString() },
          metadata,
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    await app.queue();
    return { leadId, callSid };
  };

  const { leadId, callSid } = await missed('+15125550177');
  await app.runDue({ messaging });
  t.equal(twilio.received.length, 1);
  t.same(twilio.received[0]!.form, {
    To: '+15125550177',
    From: '+15125550101',
    Body: "Sorry we missed your call! This is Acme HVAC. How can we help? Reply here and we'll get right back to you.\nReply STOP to opt out.",
    StatusCallback: 'https://callsnare.example.com/webhooks/twilio/message-status',
  });
  const [row] = await app.outbound(leadStream(leadId));
  t.match(row, { provider: 'twilio', job_key: jobKeys.textBack(leadId, callSid), message_id: /^SM[0-9a-f]{32}$/ });
  const events = await app.services.store.readStream(leadStream(leadId));
  t.same(
    events.map((e) => e.type),
    ['LeadOpened', 'MissedCallRecorded', 'TextBackSent'],
  );
  t.equal((events[2]!.data as { messageId: string }).messageId, row!.message_id, 'delivery reports for this SID find the lead');

  // A send asked again under the same key (a job retried after Twilio took the text but before the
  // evidence was recorded) returns the message already sent and posts nothing.
  const again = await messaging.send({
    key: jobKeys.textBack(leadId, callSid),
    orgId,
    kind: 'text_back',
    to: '+15125550177',
    from: '+15125550101',
    body: 'again',
    subject: leadStream(leadId),
  });
  t.same(
    again,
    { messageId: row!.message_id, sentAt: new Date(row!.sent_at).toISOString(), duplicate: true, body: row!.body },
    'the message as it was sent, not the one asked again',
  );
  t.equal(twilio.received.length, 1, 'no second POST');

  // Twilio refusing the number as unsubscribed (21610) records the opt-out (carrier) and the skip, without retrying.
  twilio.always({ status: 400, body: { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 } });
  const refused = await missed('+15125550178');
  await app.runDue({ messaging });
  t.equal(twilio.received.length, 2);
  t.same(await app.eventTypes(leadStream(refused.leadId)), ['LeadOpened', 'MissedCallRecorded', 'TextBackSkipped']);
  t.same(await app.jobs(), []);
});
