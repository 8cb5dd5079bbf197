// Confirmations on whichever event store EVENT_STORE selects (test/support/store.ts): a booking's
// confirmation is queued once from its event, sent once, and its evidence lands in the booking's stream.
// EVENT_STORE=esdb with EVENTSTORE_CONNECTION_STRING runs this on EventStoreDB; without it, it is skipped.
import t from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { bookingStream } from '../../src/domain/booking.ts';
import { getBooking } from '../../src/queries/bookings.ts';
import { automationApp } from './support.ts';

const app = await automationApp(t);
const { services, clock } = app;
const BUSINESS = '+15125550100';
t.beforeEach(() => app.reset());
const window = { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' };

t.test('a new booking is confirmed once, with the evidence in its stream and its read model', async (t) => {
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS] });
  const bookingId = await app.book(orgId, window, '+15125550199');
  t.equal(await app.queue(), 1, 'the process manager handled the booking event');
  t.same(
    (await app.jobs()).filter((j) => j.task === TASKS.confirmation).map((j) => j.key),
    [jobKeys.confirmation(bookingId)],
    'one confirmation job, for this booking only',
  );
  t.equal(await app.queue(), 0, 'a second catch-up queues nothing');

  await app.runDue();
  const sent = await app.outbound();
  t.equal(sent.length, 1, 'one text');
  t.match(sent[0], { kind: 'confirmation', to: '+15125550199', from: BUSINESS, job_key: jobKeys.confirmation(bookingId) });
  await app.runDue();
  t.equal((await app.outbound()).length, 1, 'running the queue again sends nothing new');

  t.same(await app.eventTypes(bookingStream(bookingId)), ['BookingCreated', 'ConfirmationSent']);
  await app.project();
  t.same((await getBooking(services.db, orgId, bookingId))!.confirmation, { status: 'sent', sentAt: clock().toISOString() });
});
