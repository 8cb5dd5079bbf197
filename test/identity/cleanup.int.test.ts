// Nothing that ended is kept for ever (issue 21 item 14): an hourly graphile-worker cron job deletes
// sessions ended (signed out, expired, idle) over a day ago, invite links used or expired over a day ago,
// yesterday's throttling windows and Idempotency-Key claims older than 7 days; what is live stays.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { CLEANUP_TASK, IDEMPOTENCY_KEYS_KEPT_MS, runCleanup } from '../../src/automation/cleanup.ts';
import { startAutomation } from '../../src/automation/worker.ts';
import { addMember } from '../../src/commands/orgs.ts';
import {
  countAttempt,
  createInvite,
  createSession,
  ENDED_KEPT_MS,
  findSession,
  revokeSession,
  SESSION_IDLE_MS,
  upsertLogin,
} from '../../src/identity/index.ts';
import { hashToken } from '../../src/identity/index.ts';
import { operator, testApp, testClock } from '../support/app.ts';

const DAY = 24 * 3600_000;
const clock = testClock('2026-12-05T12:00:00.000Z');
const ctx = await testApp(t, { clock });
const { services } = ctx;
const db = services.db;
const orgId = await ctx.createOrg();
const memberId = randomUUID();
await addMember(services, operator(orgId), { orgId, memberId, email: 'kept@example.com', role: 'member' });
await upsertLogin(db, { orgId, memberId, email: 'kept@example.com', passwordHash: null }, clock());
const ago = (ms: number) => new Date(clock().getTime() - ms);
const count = async (table: string) =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);

t.test('one cleanup removes what ended long enough ago and keeps what lives or ended lately', async (t) => {
  const who = { memberId, orgId };
  const live = await createSession(db, who, ago(3600_000));
  const signedOutLately = await createSession(db, who, ago(2 * 3600_000));
  await revokeSession(db, hashToken(signedOutLately.id), ago(3600_000));
  const signedOutLongAgo = await createSession(db, who, ago(3 * DAY));
  await revokeSession(db, hashToken(signedOutLongAgo.id), ago(2 * DAY));
  await createSession(db, who, ago(SESSION_IDLE_MS + ENDED_KEPT_MS + 3600_000)); // idle out over a day ago
  await createSession(db, who, ago(9 * DAY)); // past its 7-day expiry over a day ago

  await createInvite(db, { ...who, email: 'kept@example.com', role: 'member' }, ago(5 * DAY)); // expired 2 days ago (ended by the next)
  await createInvite(db, { ...who, email: 'kept@example.com', role: 'member' }, ago(3600_000)); // open
  await sql`update member_invites set used_at = ${ago(2 * DAY)} where created_at = ${ago(5 * DAY)}`.execute(db);

  await countAttempt(db, 'old@example.com', '10.0.0.1', ago(2 * DAY));
  await countAttempt(db, 'new@example.com', '10.0.0.2', ago(60_000));
  await sql`insert into idempotency_keys (org_id, key, request_hash, stream_id, claimed_at) values
    (${orgId}, 'old-key', 'h', 's', ${ago(IDEMPOTENCY_KEYS_KEPT_MS + DAY)}),
    (${orgId}, 'fresh-key', 'h', 's', ${ago(DAY)})`.execute(db);

  t.equal(await count('web_sessions'), 5);
  const pruned = await runCleanup({ db, clock });
  t.same(pruned, { sessions: 3, invites: 1, attempts: 2, idempotencyKeys: 1 });
  t.equal(await count('web_sessions'), 2, 'the live session and the one signed out an hour ago stay');
  t.ok(await findSession(db, live.id, clock()), 'the live session still works');
  t.equal(await count('member_invites'), 1, 'the open link stays');
  t.same(
    (await sql<{ key: string }>`select key from login_attempts order by key`.execute(db)).rows.map((r) => r.key),
    ['account:new@example.com', 'address:10.0.0.2'],
  );
  t.same((await sql<{ key: string }>`select key from idempotency_keys where org_id = ${orgId}`.execute(db)).rows, [{ key: 'fresh-key' }]);
  t.same(await runCleanup({ db, clock }), { sessions: 0, invites: 0, attempts: 0, idempotencyKeys: 0 }, 'a second run finds nothing');
});

t.test('the worker runs it from its cron: the crontab is registered and the task runs as a job', async (t) => {
  const automation = await startAutomation(services, { pollIntervalMs: 100, recoveryIntervalMs: 60_000 });
  t.teardown(() => automation.stop());
  const known = await sql<{ identifier: string }>`select identifier from graphile_worker._private_known_crontabs`.execute(db);
  t.ok(
    known.rows.some((r) => r.identifier === CLEANUP_TASK),
    'graphile-worker knows the hourly cleanup',
  );
  const stale = await createSession(db, { memberId, orgId }, ago(3 * DAY));
  await revokeSession(db, hashToken(stale.id), ago(2 * DAY));
  await sql`select graphile_worker.add_job(${CLEANUP_TASK}, '{}'::json)`.execute(db);
  const deadline = Date.now() + 20_000;
  while ((await sql`select 1 from web_sessions where id_hash = ${hashToken(stale.id)}`.execute(db)).rows.length && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal((await sql`select 1 from web_sessions where id_hash = ${hashToken(stale.id)}`.execute(db)).rows.length, 0, 'the job deleted it');
});
