import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { type Messaging, PermanentMessagingError, TransientMessagingError } from '../../src/automation/messaging/port.ts';
import { PROCESS_MANAGER } from '../../src/automation/process-manager-runner.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { changeBooking } from '../../src/commands/bookings.ts';
import { metadataFor } from '../../src/commands/execute.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { bookingStream } from '../../src/domain/booking.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.ts';
import { rebuildProjection } from '../../src/projections/rebuild.ts';
import { bookingsProjection } from '../../src/projections/read-models/bookings.ts';
import { getBooking } from '../../src/queries/bookings.ts';
import { operator } from '../support/app.ts';
import { automationApp } from './support.ts';

const app = await automationApp(t);
const { services, clock } = app;
const BUSINESS = '+15125550100';
t.beforeEach(() => app.reset());

const window = { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' }; // Fri 10:00-12:00 CDT
const integration = (orgId: string) => ({
  orgId,
  actor: { type: 'integration' as const, id: 'cred-test', label: 'Dispatch board' },
  correlationId: randomUUID(),
});
const newOrg = (input: { timezone?: string } = {}) => app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS], ...input });
const iso = (d: Date) => d.toISOString();
const projected = async (orgId: string, bookingId: string) => {
  await app.project();
  return (await getBooking(services.db, orgId, bookingId))!;
};

t.test('a new booking gets one confirmation now and a reminder 24 h and 2 h before its window', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window, '+15125550199');
  t.equal(await app.queue(), 1);
  t.same(
    (await app.jobs()).map((j) => [j.task, j.key, iso(j.runAt)]),
    [
      [TASKS.confirmation, jobKeys.confirmation(bookingId), clock().toISOString()],
      [TASKS.reminder, jobKeys.reminder(bookingId, 1440, '2031-03-13T15:00:00.000Z'), '2031-03-13T15:00:00.000Z'],
      [TASKS.reminder, jobKeys.reminder(bookingId, 120, '2031-03-14T13:00:00.000Z'), '2031-03-14T13:00:00.000Z'],
    ],
  );

  await app.runDue();
  const [confirmation, ...none] = await app.outbound();
  t.same(none, [], 'only the confirmation is due now');
  t.match(confirmation, {
    kind: 'confirmation',
    to: '+15125550199',
    from: BUSINESS,
    provider: 'log',
    job_key: jobKeys.confirmation(bookingId),
  });
  t.equal(
    confirmation!.body,
    'Acme HVAC: your visit is confirmed for Fri, Mar 14, 10:00 AM - 12:00 PM CDT. Reply to this text with any questions.\nReply STOP to opt out.',
    'the first automated text to a number ends with the opt-out line',
  );

  clock.set('2031-03-13T14:59:00.000Z');
  await app.runDue();
  t.equal((await app.outbound()).length, 1, 'nothing a minute before the 24 h reminder');
  clock.set('2031-03-13T15:00:00.000Z');
  await app.runDue();
  clock.set('2031-03-14T13:00:00.000Z');
  await app.runDue();
  const sent = await app.outbound();
  t.same(
    sent.map((m) => [m.kind, m.job_key, iso(m.sent_at)]),
    [
      ['confirmation', jobKeys.confirmation(bookingId), '2031-03-10T15:00:00.000Z'],
      ['reminder', jobKeys.reminder(bookingId, 1440, '2031-03-13T15:00:00.000Z'), '2031-03-13T15:00:00.000Z'],
      ['reminder', jobKeys.reminder(bookingId, 120, '2031-03-14T13:00:00.000Z'), '2031-03-14T13:00:00.000Z'],
    ],
  );
  t.same(await app.jobs(), [], 'the queue is empty');

  const booking = await projected(orgId, bookingId);
  t.same(booking.confirmation, { status: 'sent', sentAt: '2031-03-10T15:00:00.000Z' });
  t.same(booking.reminders, [
    { offsetMinutes: 1440, dueAt: '2031-03-13T15:00:00.000Z', status: 'sent', sentAt: '2031-03-13T15:00:00.000Z' },
    { offsetMinutes: 120, dueAt: '2031-03-14T13:00:00.000Z', status: 'sent', sentAt: '2031-03-14T13:00:00.000Z' },
  ]);
  t.same(await app.eventTypes(bookingStream(bookingId)), ['BookingCreated', 'ConfirmationSent', 'ReminderSent', 'ReminderSent']);
  const [evidence] = (await services.store.readStream(bookingStream(bookingId))).slice(1);
  t.match(evidence!.metadata, {
    actor: { type: 'system', id: 'automation' },
    causationId: (await services.store.readStream(bookingStream(bookingId)))[0]!.id,
  });
  t.match(evidence!.data, { messageId: confirmation!.message_id, to: '+15125550199' });
});

t.test('a rescheduled booking is reminded at the new times, never at the old ones, and told that the visit moved', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window);
  await app.queue();
  await app.runDue();
  clock.advance(3_600_000);
  const later = { start: '2031-03-16T15:00:00.000Z', end: '2031-03-16T17:00:00.000Z' };
  await changeBooking(services, integration(orgId), bookingId, { kind: 'reschedule', window: later });
  await app.queue();
  t.same(
    (await app.jobs()).map((j) => [j.task, iso(j.runAt)]),
    [
      [TASKS.notice, '2031-03-10T16:00:00.000Z'],
      [TASKS.reminder, '2031-03-15T15:00:00.000Z'],
      [TASKS.reminder, '2031-03-16T13:00:00.000Z'],
    ],
    'the old reminders are gone, the new ones wait for the new times',
  );
  await app.runDue();
  for (const at of ['2031-03-13T15:00:00.000Z', '2031-03-14T13:00:00.000Z']) {
    clock.set(at);
    await app.runDue();
  }
  t.same(
    (await app.outbound(bookingStream(bookingId))).map((m) => m.kind),
    ['confirmation', 'rescheduled_notice'],
    'nothing at the old reminder times',
  );
  t.match(
    (await app.outbound(bookingStream(bookingId)))[1]!.body,
    /^Acme HVAC: your visit moved to Sun, Mar 16, 10:00 AM - 12:00 PM CDT\./,
  );
  for (const at of ['2031-03-15T15:00:00.000Z', '2031-03-16T13:00:00.000Z']) {
    clock.set(at);
    await app.runDue();
  }
  t.same(
    (await app.outbound(bookingStream(bookingId))).map((m) => [m.kind, iso(m.sent_at)]),
    [
      ['confirmation', '2031-03-10T15:00:00.000Z'],
      ['rescheduled_notice', '2031-03-10T16:00:00.000Z'],
      ['reminder', '2031-03-15T15:00:00.000Z'],
      ['reminder', '2031-03-16T13:00:00.000Z'],
    ],
  );
  const booking = await projected(orgId, bookingId);
  t.same(
    booking.reminders.map((r) => [r.dueAt, r.status]),
    [
      ['2031-03-15T15:00:00.000Z', 'sent'],
      ['2031-03-16T13:00:00.000Z', 'sent'],
    ],
  );
  t.same(await app.eventTypes(bookingStream(bookingId)), [
    'BookingCreated',
    'ConfirmationSent',
    'BookingRescheduled',
    'BookingNoticeSent',
    'ReminderSent',
    'ReminderSent',
  ]);
});

t.test('a canceled booking gets no reminders, only a cancellation notice', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window);
  await app.queue();
  await app.runDue();
  clock.advance(60_000);
  await changeBooking(services, integration(orgId), bookingId, { kind: 'cancel', reason: 'customer fixed it' });
  await app.queue();
  t.same(
    (await app.jobs()).map((j) => [j.task, j.key]),
    [[TASKS.notice, jobKeys.canceledNotice(bookingId)]],
  );
  for (const at of ['2031-03-10T15:01:00.000Z', '2031-03-13T15:00:00.000Z', '2031-03-14T13:00:00.000Z', '2031-03-20T00:00:00.000Z']) {
    clock.set(at);
    await app.runDue();
  }
  const sent = await app.outbound(bookingStream(bookingId));
  t.same(
    sent.map((m) => m.kind),
    ['confirmation', 'canceled_notice'],
  );
  t.equal(
    sent[1]!.body,
    'Acme HVAC: your visit on Fri, Mar 14, 10:00 AM - 12:00 PM CDT was canceled. Reply to this text to book a new time.',
  );
  t.same(
    (await projected(orgId, bookingId)).reminders.map((r) => r.status),
    ['canceled', 'canceled'],
  );
});

t.test('a booking canceled before its confirmation went out records the confirmation as skipped', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window);
  await changeBooking(services, integration(orgId), bookingId, { kind: 'cancel' });
  await app.queue();
  await app.runDue();
  t.same(
    (await app.outbound(bookingStream(bookingId))).map((m) => m.kind),
    ['canceled_notice'],
  );
  t.same((await projected(orgId, bookingId)).confirmation, { status: 'skipped' });
  const events = await services.store.readStream(bookingStream(bookingId));
  t.match(events.find((e) => e.type === 'ConfirmationSkipped')?.data, { reason: 'booking canceled' });
});

t.test('a booking canceled while its confirmation was being sent records the text after the cancellation, once', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window);
  await app.queue();
  // The job read the booking before sending; the evidence is decided on it, and the cancellation that
  // landed meanwhile makes that append conflict and be decided again on the stream as it now is.
  const cancelingMidSend: Messaging = {
    provider: app.deps.messaging.provider,
    send: async (message, options) => {
      if (message.kind === 'confirmation') await changeBooking(services, integration(orgId), bookingId, { kind: 'cancel' });
      return app.deps.messaging.send(message, options);
    },
  };
  await app.runDue({ messaging: cancelingMidSend });
  const types = (await services.store.readStream(bookingStream(bookingId))).map((e) => e.type);
  t.same(types.slice(0, 3), ['BookingCreated', 'BookingCanceled', 'ConfirmationSent']);
  t.equal(types.filter((type) => type === 'ConfirmationSent').length, 1);
  t.equal((await app.outbound(bookingStream(bookingId))).filter((m) => m.kind === 'confirmation').length, 1);
});

t.test('a booking made 3 hours before its visit gets no 24 h reminder', async (t) => {
  const orgId = await newOrg();
  clock.set('2031-03-14T12:00:00.000Z');
  const bookingId = await app.book(orgId, window);
  await app.queue();
  t.same(
    (await app.jobs()).map((j) => [j.task, j.key]),
    [
      [TASKS.confirmation, jobKeys.confirmation(bookingId)],
      [TASKS.reminder, jobKeys.reminder(bookingId, 120, '2031-03-14T13:00:00.000Z')],
    ],
  );
});

t.test('quiet hours defer the confirmation and an early reminder to the end of the quiet hours', async (t) => {
  const orgId = await newOrg();
  await configureOrg(services, operator(orgId), { orgId, changes: { quietHours: { start: '21:00', end: '08:00' } } });
  clock.set('2031-03-11T03:30:00.000Z'); // 22:30 CDT
  const early = { start: '2031-03-14T13:00:00.000Z', end: '2031-03-14T15:00:00.000Z' }; // 08:00 CDT, 2 h reminder due 06:00
  const bookingId = await app.book(orgId, early);
  await app.queue();
  t.same(
    (await app.jobs()).map((j) => [j.task, iso(j.runAt)]),
    [
      [TASKS.confirmation, '2031-03-11T13:00:00.000Z'],
      [TASKS.reminder, '2031-03-13T13:00:00.000Z'],
      [TASKS.reminder, '2031-03-14T13:00:00.000Z'],
    ],
  );
  await app.runDue();
  t.same(await app.outbound(), [], 'nothing during the night');
  clock.set('2031-03-11T13:00:00.000Z');
  await app.runDue();
  t.same(
    (await app.outbound(bookingStream(bookingId))).map((m) => [m.kind, iso(m.sent_at)]),
    [['confirmation', '2031-03-11T13:00:00.000Z']],
  );
  clock.set('2031-03-13T13:00:00.000Z');
  await app.runDue();
  clock.set('2031-03-14T13:00:00.000Z');
  await app.runDue();
  const reminders = (await app.outbound(bookingStream(bookingId))).filter((m) => m.kind === 'reminder');
  t.same(
    reminders.map((m) => iso(m.sent_at)),
    ['2031-03-13T13:00:00.000Z'],
    'the 24 h reminder went at 08:00 the day before',
  );
  const booking = await projected(orgId, bookingId);
  t.same(
    booking.reminders.map((r) => [r.offsetMinutes, r.status]),
    [
      [1440, 'sent'],
      [120, 'skipped'],
    ],
    'deferred into the visit itself, the 2 h reminder is skipped with evidence rather than sent late',
  );
});

t.test('a job that comes due inside quiet hours set after it was queued is deferred, then sent once', async (t) => {
  const orgId = await newOrg();
  clock.set('2031-03-11T03:30:00.000Z'); // 22:30 CDT
  const bookingId = await app.book(orgId, window);
  await app.queue();
  await configureOrg(services, operator(orgId), { orgId, changes: { quietHours: { start: '22:00', end: '08:30' } } });
  await app.runDue();
  t.same(await app.outbound(), []);
  const confirmations = await app.jobs({ task: TASKS.confirmation });
  t.same(
    confirmations.map((j) => [j.key, iso(j.runAt), j.payload.key]),
    [[null, '2031-03-11T13:30:00.000Z', jobKeys.confirmation(bookingId)]],
    'requeued (without the job key, so a later replace of the key cannot lose it) for 08:30',
  );
  const deferred = (await services.store.readStream(bookingStream(bookingId))).filter((e) => e.type === 'BookingTextDeferred');
  t.match(
    deferred.map((e) => e.data),
    [{ kind: 'confirmation', until: '2031-03-11T13:30:00.000Z', reason: /the org's quiet hours/ }],
    'the deferral and its reason are on the booking',
  );
  clock.set('2031-03-11T13:30:00.000Z');
  await app.runDue();
  await app.runDue();
  t.same(
    (await app.outbound(bookingStream(bookingId))).map((m) => [m.kind, iso(m.sent_at)]),
    [['confirmation', '2031-03-11T13:30:00.000Z']],
  );
});

t.test('while billing is canceled, bookings get no texts and the skips are recorded', async (t) => {
  const orgId = await newOrg();
  await app.setBilling(orgId, 'canceled');
  const bookingId = await app.book(orgId, window);
  await app.queue();
  clock.set('2031-03-14T13:00:00.000Z');
  await app.runDue();
  t.same(await app.outbound(), []);
  const booking = await projected(orgId, bookingId);
  t.same(booking.confirmation, { status: 'skipped' });
  t.same(
    booking.reminders.map((r) => r.status),
    ['skipped', 'skipped'],
  );
  const events = await services.store.readStream(bookingStream(bookingId));
  t.same(
    events.filter((e) => e.type.endsWith('Skipped')).map((e) => (e.data as { reason: string }).reason),
    ['billing canceled', 'billing canceled', 'billing canceled'],
  );
});

/** A missed call as the Twilio voice webhook records it (appended directly: this file tests automation, not the webhook). */
async function missedCall(orgId: string, caller: string) {
  const leadId = randomUUID();
  const callSid = `CA${randomUUID().replace(/-/g, '')}`;
  const metadata = metadataFor({ orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: callSid }, clock());
  await services.store.append(
    leadStream(leadId),
    [
      {
        type: 'LeadOpened',
        data: { leadId, orgId, callerPhone: caller, businessPhone: BUSINESS, generation: 0, source: 'missed_call' },
        metadata,
      },
      {
        type: 'MissedCallRecorded',
        data: { leadId, callSid, from: caller, to: BUSINESS, callStatus: 'no-answer', calledAt: clock().toISOString() },
        metadata,
      },
    ],
    { expectedRevision: 'no_stream' },
  );
  return { leadId, callSid };
}

t.test('a missed call gets exactly one text-back, from the number called, with the org name in the template', async (t) => {
  const orgId = await newOrg();
  const { leadId, callSid } = await missedCall(orgId, '+15125550177');
  await app.queue();
  t.same(
    (await app.jobs()).map((j) => [j.task, j.key]),
    [[TASKS.textBack, jobKeys.textBack(leadId, callSid)]],
  );
  await app.runDue();
  // The same job queued again (a replayed intent, a retried job) sends and records nothing more.
  await sql`select graphile_worker.add_job(${TASKS.textBack}, ${JSON.stringify((await app.jobs()).at(0)?.payload ?? null)}::json)`
    .execute(services.db)
    .catch(() => {});
  await app.queue();
  await app.runDue();
  const sent = await app.outbound(leadStream(leadId));
  t.equal(sent.length, 1);
  t.match(sent[0], { kind: 'text_back', to: '+15125550177', from: BUSINESS });
  t.equal(
    sent[0]!.body,
    "Sorry we missed your call! This is Acme HVAC. How can we help? Reply here and we'll get right back to you.\nReply STOP to opt out.",
  );
  const events = await services.store.readStream(leadStream(leadId));
  t.same(
    events.map((e) => e.type),
    ['LeadOpened', 'MissedCallRecorded', 'TextBackSent'],
  );
  t.match(events[2]!.data, { messageId: sent[0]!.message_id, callSid, to: '+15125550177', body: sent[0]!.body });
});

t.test('text-back off, or billing unpaid, sends no text-back; unpaid records the skip on the lead', async (t) => {
  const off = await newOrg();
  await configureOrg(services, operator(off), { orgId: off, changes: { textBack: false } });
  await missedCall(off, '+15125550178');
  const unpaid = await app.createOrg({ name: 'Borealis Heating', phones: ['+15125550111'] });
  await app.setBilling(unpaid, 'unpaid');
  const { leadId } = await missedCall(unpaid, '+15125550179');
  await app.queue();
  t.equal((await app.jobs()).length, 1, 'only the unpaid org queues one (to record the skip)');
  await app.runDue();
  t.same(await app.outbound(), []);
  t.same(await app.eventTypes(leadStream(leadId)), ['LeadOpened', 'MissedCallRecorded', 'TextBackSkipped']);
});

t.test('a job retried after its text went out (crash before the evidence) sends nothing new and records once', async (t) => {
  const orgId = await newOrg();
  const bookingId = await app.book(orgId, window, '+15125550198');
  await app.queue();
  // The first attempt got as far as sending, then died.
  const first = await app.deps.messaging.send({
    key: jobKeys.confirmation(bookingId),
    orgId,
    kind: 'confirmation',
    to: '+15125550198',
    from: BUSINESS,
    body: 'first attempt',
    subject: bookingStream(bookingId),
  });
  await app.runDue();
  const sent = await app.outbound(bookingStream(bookingId));
  t.equal(sent.length, 1);
  t.equal(sent[0]!.requests, 2, 'the retry asked again and got the message already sent');
  const events = await services.store.readStream(bookingStream(bookingId));
  t.same(
    events.map((e) => e.type),
    ['BookingCreated', 'ConfirmationSent'],
  );
  t.equal((events[1]!.data as { messageId: string }).messageId, first.messageId);
  // And the finished job queued once more changes nothing.
  await sql`select graphile_worker.add_job(${TASKS.confirmation}, ${JSON.stringify({ task: TASKS.confirmation, key: jobKeys.confirmation(bookingId), orgId, bookingId, cause: { eventId: randomUUID(), correlationId: 'x' } })}::json)`.execute(
    services.db,
  );
  await app.runDue();
  t.equal((await services.store.readStream(bookingStream(bookingId))).length, 2);
});

t.test(
  'a provider refusing a text for good records the failure; a flaky provider is retried, then the last attempt records it',
  async (t) => {
    const orgId = await newOrg();
    // These doubles speak as Twilio: the org's sender is registered (A2P 10DLC).
    await configureOrg(services, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
    const refused = await app.book(orgId, window);
    await app.queue();
    const refusing: Messaging = {
      provider: 'twilio',
      send: async () => {
        throw new PermanentMessagingError("Twilio 400 (code 21211): The 'To' number is not a valid phone number.", 400, '21211');
      },
    };
    await app.runDue({ messaging: refusing });
    t.same((await projected(orgId, refused)).confirmation, { status: 'failed' });
    t.same(await app.jobs(), [...(await app.jobs()).filter((j) => j.task === TASKS.reminder)], 'no confirmation job left to retry');

    const flaky = await app.book(orgId, { start: '2031-03-15T15:00:00.000Z', end: '2031-03-15T16:00:00.000Z' });
    await app.queue();
    let calls = 0;
    const down: Messaging = {
      provider: 'twilio',
      send: async () => {
        calls++;
        throw new TransientMessagingError('Twilio 503: Service Unavailable', 503);
      },
    };
    for (let i = 0; i < 8; i++) await app.runDue({ messaging: down });
    t.equal(calls, 8, 'one call per attempt, 8 attempts');
    const booking = await projected(orgId, flaky);
    t.same(booking.confirmation, { status: 'failed' });
    const events = await services.store.readStream(bookingStream(flaky));
    t.match(events.find((e) => e.type === 'ConfirmationFailed')?.data, { error: /^gave up after 8 attempts: Twilio 503/ });
    t.same(await app.jobs({ task: TASKS.confirmation }), [], 'the job ended');
  },
);

t.test('the process manager never queues an event twice: not on a second catch-up, not after a projection rebuild', async (t) => {
  const orgId = await newOrg();
  await app.book(orgId, window);
  await app.book(orgId, { start: '2031-03-15T15:00:00.000Z', end: '2031-03-15T16:00:00.000Z' });
  t.equal(await app.queue(), 2);
  await app.runDue();
  const before = (await app.jobs()).map((j) => j.key);
  // The process manager is handed every booking event (it folds bookings from them): the two
  // confirmations' evidence, which queues nothing.
  t.equal(await app.queue(), 2);
  t.same(
    (await app.jobs()).map((j) => j.key),
    before,
    'the evidence queued nothing',
  );
  const checkpoint = await readCheckpoint(services.db, PROCESS_MANAGER);
  await app.project();
  await rebuildProjection(services, bookingsProjection);
  t.same(
    (await readCheckpoint(services.db, PROCESS_MANAGER)).position,
    checkpoint.position,
    'a rebuild leaves the process manager checkpoint alone',
  );
  t.equal(await app.queue(), 0);
  t.same(
    (await app.jobs()).map((j) => j.key),
    before,
    'no confirmation queued again',
  );
  t.equal((await app.outbound()).length, 2);
});
