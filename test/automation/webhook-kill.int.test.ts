import { spawnOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startProcess } from '../../src/app.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { testApp } from '../support/app.ts';
import { eventually, webhookReceiver } from '../support/webhook-receiver.ts';

/**
 * A real `callsnare worker` process is SIGKILLed while its webhook request is in flight: the delivery is
 * not lost, another worker sends it once more under the same `webhook-id`, and it ends delivered.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ctx = await testApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: '1' } });
const { services, app, database } = ctx;
await migrateJobQueue(database.pool);

t.test('a worker killed mid-delivery: delivered once more with the same webhook-id, never lost', async (t) => {
  const child = spawnOwned(process.execPath, ['bin/callsnare.js', 'worker', '--recovery-interval', '1'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      MESSAGING: 'log',
      WEBHOOK_ALLOW_PRIVATE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"automation worker running"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));

  // The first request never gets an answer: the worker sending it is killed while it waits.
  const receiver = await webhookReceiver(t, (n) => {
    if (n === 0) {
      child.kill('SIGKILL');
      return 'hang';
    }
    return 200;
  });
  const orgId = await ctx.createOrg();
  const admin = await ctx.memberToken(orgId, 'admin');
  const registered = await app.inject({
    method: 'POST',
    url: '/api/internal/v1/webhook-endpoints',
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { url: receiver.url, events: ['booking.created'] },
  });
  t.equal(registered.statusCode, 201);
  const endpointId = registered.json().id as string;
  await createBooking(
    services,
    { orgId, actor: { type: 'integration', id: 'cred-test', label: 'Dispatch board' }, correlationId: randomUUID() },
    {
      customer: { name: 'Dana Diaz', phone: '+15125550199' },
      window: { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' },
    },
  );

  await eventually('the first attempt reached the receiver', () => receiver.received.length === 1);
  await exited;
  const inFlight = await services.db
    .selectFrom('webhook_deliveries')
    .select(['status'])
    .where('endpoint_id', '=', endpointId)
    .executeTakeFirstOrThrow();
  t.equal(inFlight.status, 'pending', 'the killed attempt left the delivery pending');

  // Another worker process takes over: it finds the dead worker's job and runs it again.
  const survivor = await startProcess(services, { worker: { pollIntervalMs: 100, recoveryIntervalMs: 500 } });
  t.teardown(() => survivor.stop());
  await eventually('delivered by the survivor', async () => {
    const row = await services.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirstOrThrow();
    return row.status === 'delivered';
  });
  t.equal(receiver.received.length, 2, 'sent once more, not more');
  t.equal(receiver.received[0]!.headers['webhook-id'], receiver.received[1]!.headers['webhook-id'], 'under the same webhook-id');
  const attempts = await services.db
    .selectFrom('webhook_attempts')
    .innerJoin('webhook_deliveries as d', 'd.id', 'webhook_attempts.delivery_id')
    .select(['webhook_attempts.status', 'webhook_attempts.duration_ms', 'webhook_attempts.holder'])
    .where('d.endpoint_id', '=', endpointId)
    .orderBy('webhook_attempts.id')
    .execute();
  t.equal(attempts.length, 2);
  t.match(attempts[0], { status: null, duration_ms: null }, 'the killed attempt never got an outcome');
  t.match(attempts[1], { status: 200 });
  t.not(attempts[0]!.holder, attempts[1]!.holder, 'made by two different workers');
});
