// The many-process topology on one database: two `serve --no-worker --no-projector`, one `project`, two
// `worker`. Both API processes are loaded at once with writes sharing Idempotency-Keys across processes
// and with missed-call webhooks delivered to both; one process of each kind is SIGKILLed mid-run and
// restarted. Then every promise is checked against the database. Bounded by count, loopback only.
import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from '../support/processes.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import t from 'tap';
import { PROCESS_MANAGER } from '../../src/automation/process-manager-runner.ts';
import { issueCredential } from '../../src/identity/index.ts';
import { idFromKey } from '../../src/domain/ids.ts';
import { configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { subscriberLags } from '../../src/subscriptions/lag.ts';
import { PROJECTIONS } from '../../src/projections/registry.ts';
import { verifyProjection } from '../../src/projections/verify.ts';
import { ACCOUNT_SID, AUTH_TOKEN, fakeTwilio } from '../automation/fake-twilio.ts';
import { PROVIDER_ENV, twilioSignature, voiceStatusCallback } from '../webhooks/fixtures/providers.ts';
import { operator } from '../support/app.ts';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { testDatabase } from '../support/db.ts';
import { recordFigure } from '../support/figures.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

const API = '/api/private/v1';
const VOICE = '/webhooks/twilio/voice';
const BUSINESS = '+15125550100';
const CLIENTS = 4;
const SCENARIOS_PER_CLIENT = 10;

/** One long-lived CLI process; a restart replaces its child (and a serve's address). */
interface Proc {
  readonly name: string;
  child: ChildProcess;
  address?: string;
}

const database = await testDatabase(t);
const store = new PostgresEventStore({ pool: database.pool, url: database.url, pollIntervalMs: 100 });
t.teardown(() => store.close());
const twilioApi = fakeTwilio();
const twilioUrl = await twilioApi.listen();
t.teardown(() => twilioApi.close());

const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DATABASE_URL: database.url,
  PUBLIC_BASE_URL: PROVIDER_ENV.PUBLIC_BASE_URL,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_API_BASE_URL: twilioUrl,
  MESSAGING: 'twilio',
  PORT: '0',
  LOG_LEVEL: 'info',
};

const READY: Record<string, { args: string[]; message: RegExp }> = {
  serve: { args: ['serve', '--no-worker', '--no-projector', '--no-migrate'], message: /CallSnare listening on (http:\/\/[^"]+)"/ },
  project: { args: ['project', '--no-migrate'], message: /"msg":"projectors: [a-z_]/ },
  worker: {
    args: ['worker', '--concurrency', '4', '--recovery-interval', '1', '--shutdown-timeout', '5'],
    message: /"msg":"automation worker running"/,
  },
};

const procs: Proc[] = [];
t.teardown(async () => {
  await Promise.all(
    procs.map((p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return undefined;
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGKILL');
      return exited;
    }),
  );
});

function spawnProc(kind: keyof typeof READY): Promise<{ child: ChildProcess; address?: string }> {
  const { args, message } = READY[kind]!;
  const child = spawnOwned(process.execPath, [CLI_BIN, ...args], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let ready = false;
    // Keep draining stdout for the process's whole life: a full pipe would block it.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready) return;
      const match = message.exec(line);
      if (match) {
        ready = true;
        resolve({ child, ...(match[1] && { address: match[1] }) });
      }
    });
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`${kind} exited (${code ?? signal}) before it was ready: ${stderr.slice(-2000)}`));
    });
  });
}

async function start(name: string, kind: keyof typeof READY): Promise<Proc> {
  const started = await spawnProc(kind);
  const proc: Proc = { name, ...started };
  procs.push(proc);
  return proc;
}

async function killAndRestart(proc: Proc, kind: keyof typeof READY): Promise<void> {
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGKILL');
  await exited;
  const started = await spawnProc(kind);
  proc.child = started.child;
  proc.address = started.address;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const lagging = async () =>
  (await subscriberLags({ db: database.db, store }, [...PROJECTIONS, { name: PROCESS_MANAGER }]))
    .filter((l) => l.events > 0)
    .map((l) => l.name);

t.test(
  'two serve, one project, two worker on one database: one effect per key, nothing twice, through a SIGKILL of each kind',
  async (t) => {
    const deps = { store, clock: () => new Date() };
    const orgId = randomUUID();
    await createOrg(deps, operator(orgId), { orgId, name: 'Topology HVAC', timezone: daytimeZone(), phones: [BUSINESS] });
    await configureOrg(deps, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
    const { token } = await issueCredential(deps, operator(orgId), {
      orgId,
      label: 'topology',
      kind: 'integration',
      scopes: ['READ_BOOKINGS', 'WRITE_BOOKINGS'],
    });

    const [serveA, serveB, projector, workerA, _workerB] = await Promise.all([
      start('serve-a', 'serve'),
      start('serve-b', 'serve'),
      start('project', 'project'),
      start('worker-a', 'worker'),
      start('worker-b', 'worker'),
    ]);
    const servers = [serveA, serveB];
    // The token and the business number must be projected before the API and the webhooks can find them.
    await until('the projector to catch up with the setup', async () => (await lagging()).length === 0);

    // ---- the client: every request is retried (same key, same body) on the other process after a
    // transport error, a 503 or an in-progress 409, as a client behind a load balancer would.
    const stats = { requests: 0, transportErrors: 0, status503: 0, retried: 0 };
    const fatal: string[] = [];
    interface Answer {
      status: number;
      json: Record<string, unknown> | undefined;
      replayed: boolean;
    }
    const send = async (
      first: 0 | 1,
      path: string,
      init: { method: string; body: string; headers: Record<string, string> },
    ): Promise<Answer | undefined> => {
      let target = first;
      for (let attempt = 0; attempt < 120; attempt++) {
        if (attempt > 0) {
          stats.retried++;
          target = (1 - target) as 0 | 1;
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
        }
        const address = servers[target]!.address;
        stats.requests++;
        let res: Response;
        try {
          res = await fetch(`${address}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
        } catch {
          stats.transportErrors++;
          continue;
        }
        const text = await res.text();
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        if (res.status === 503) {
          stats.status503++;
          continue;
        }
        if (res.status >= 500) {
          fatal.push(`${init.method} ${path}: ${res.status} ${text.slice(0, 200)}`);
          return undefined;
        }
        if (res.status === 409 && json?.code === 'idempotency_request_in_progress') continue;
        return { status: res.status, json, replayed: res.headers.get('idempotent-replayed') === 'true' };
      }
      return undefined;
    };
    const api = (first: 0 | 1, method: string, path: string, body: unknown, key: string) =>
      send(first, `${API}${path}`, {
        method,
        body: JSON.stringify(body),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
      });
    const webhook = (first: 0 | 1, params: Record<string, string>) =>
      send(first, VOICE, {
        method: 'POST',
        body: new URLSearchParams(params).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(VOICE, params, AUTH_TOKEN) },
      });

    const violations: string[] = [];
    const figures = {
      keysShared: 0,
      sameBodyPairs: 0,
      conflictingPairs: 0,
      conflicting409: 0,
      replayed: 0,
      webhooksTwice: 0,
      unanswered: 0,
    };
    const createdKeys = new Map<string, string>();
    const acknowledgedPatchKeys: string[] = [];
    const callSids: string[] = [];

    /** The same key sent to both processes at once: identical bodies must give one effect and the same answer. */
    const sharedSame = async (key: string, method: string, path: string, body: unknown, okStatus: number) => {
      figures.keysShared++;
      figures.sameBodyPairs++;
      const answers = await Promise.all([api(0, method, path, body, key), api(1, method, path, body, key)]);
      if (answers.some((a) => !a)) return void figures.unanswered++;
      const [a, b] = answers as [Answer, Answer];
      if (a.status !== okStatus || b.status !== okStatus) violations.push(`${key}: same body answered ${a.status}/${b.status}`);
      else if (JSON.stringify(a.json) !== JSON.stringify(b.json)) violations.push(`${key}: same body, different responses`);
      else if (!a.replayed && !b.replayed) violations.push(`${key}: neither response is marked replayed`);
      figures.replayed += Number(a.replayed) + Number(b.replayed);
      return a.status === okStatus ? a : undefined;
    };
    /** The same key with two different bodies at once: one succeeds, the other is 409 idempotency_key_reused. */
    const sharedDifferent = async (key: string, method: string, path: string, bodies: [unknown, unknown], okStatus: number) => {
      figures.keysShared++;
      figures.conflictingPairs++;
      const answers = await Promise.all([api(0, method, path, bodies[0], key), api(1, method, path, bodies[1], key)]);
      if (answers.some((a) => !a)) return void figures.unanswered++;
      const [a, b] = answers as [Answer, Answer];
      const ok = [a, b].filter((x) => x.status === okStatus);
      const reused = [a, b].filter((x) => x.status === 409 && x.json?.code === 'idempotency_key_reused');
      if (ok.length !== 1 || reused.length !== 1) violations.push(`${key}: different bodies answered ${a.status}/${b.status}`);
      figures.conflicting409 += reused.length;
      return ok[0];
    };

    let finished = 0;
    const window = (day: number) => ({
      start: new Date(Date.UTC(2031, 6, 1 + day, 15)).toISOString(),
      end: new Date(Date.UTC(2031, 6, 1 + day, 17)).toISOString(),
    });
    const client = async (c: number) => {
      for (let i = 0; i < SCENARIOS_PER_CLIENT; i++) {
        const key = `topo-${c}-${i}`;
        const phone = `${NO_PLACE}${String(2_000_000 + c * 1000 + i)}`;
        const day = (c * SCENARIOS_PER_CLIENT + i) % 60;
        const body = {
          customer: { name: `Client ${c} #${i}`, phone },
          window: window(day),
          service: { type: 'ac_repair', summary: 'warm air' },
        };
        const created =
          i % 2 === 0
            ? await sharedSame(key, 'POST', '/bookings', body, 201)
            : await sharedDifferent(key, 'POST', '/bookings', [body, { ...body, notes: 'a different request' }], 201);
        if (created) {
          const id = idFromKey(orgId, key);
          createdKeys.set(key, id);
          if (created.json?.id !== id) violations.push(`${key}: created ${String(created.json?.id)}, expected ${id}`);
          if (await sharedSame(`${key}-r`, 'PATCH', `/bookings/${id}`, { window: window(day + 1), reason: 'customer asked' }, 200))
            acknowledgedPatchKeys.push(`${key}-r`);
          const cancel = { status: 'canceled', reason: 'no longer needed' };
          const last =
            i % 3 === 0
              ? await sharedDifferent(`${key}-x`, 'PATCH', `/bookings/${id}`, [cancel, { window: window(day + 2) }], 200)
              : await sharedSame(`${key}-x`, 'PATCH', `/bookings/${id}`, cancel, 200);
          if (last) acknowledgedPatchKeys.push(`${key}-x`);
        }
        // A missed call whose status callback Twilio delivers twice, to both processes at once.
        const callSid = `CA${randomBytes(16).toString('hex')}`;
        const params = voiceStatusCallback({
          callSid,
          from: `+1737${String(3_000_000 + c * 1000 + i)}`,
          to: BUSINESS,
          status: 'no-answer',
        });
        figures.webhooksTwice++;
        const hooks = await Promise.all([webhook(0, params), webhook(1, params)]);
        if (hooks.some((h) => !h)) figures.unanswered++;
        else if (hooks.some((h) => h!.status !== 200))
          violations.push(`${callSid}: webhook answered ${hooks.map((h) => h!.status).join('/')}`);
        else callSids.push(callSid);
        finished++;
      }
    };

    // ---- one SIGKILL of each kind, spread over the run, each process restarted at once.
    const total = CLIENTS * SCENARIOS_PER_CLIENT;
    let kills = 0;
    const killer = (async () => {
      const plan: [number, Proc, keyof typeof READY][] = [
        [0.15, serveA, 'serve'],
        [0.35, projector, 'project'],
        [0.55, workerA, 'worker'],
      ];
      for (const [at, proc, kind] of plan) {
        await until(`${Math.round(at * 100)} % of the load`, () => finished >= total * at, 600_000, 20);
        await killAndRestart(proc, kind);
        kills++;
      }
    })();
    await Promise.all([...Array.from({ length: CLIENTS }, (_, c) => client(c)), killer]);

    // ---- settle: everything projected, every due job run (the killed worker's jobs released and retried).
    await until('projections and the process manager to catch up', async () => (await lagging()).length === 0);
    const dueJobs = async () =>
      Number(
        (
          await database.pool.query<{ n: string }>(
            'select count(*) as n from graphile_worker.jobs where run_at <= now() and attempts < max_attempts',
          )
        ).rows[0]!.n,
      );
    await until('every due job to run', async () => (await dueJobs()) === 0);

    t.same(fatal, [], 'no 5xx other than 503');
    t.same(violations, [], 'every shared key answered as promised (identical: the first response; different: one 409)');
    t.equal(figures.unanswered, 0, 'every request got an answer');

    const one = async <T>(text: string, params: unknown[] = []) => (await database.pool.query<T & object>(text, params)).rows;
    const createsPerKey = await one<{ key: string; n: number }>(
      "select metadata->>'idempotencyKey' as key, count(*)::int as n from es_events where event_type = 'BookingCreated' and org_id = $1 group by 1",
      [orgId],
    );
    t.same(
      createsPerKey.filter((r) => r.n !== 1),
      [],
      'one booking per key',
    );
    t.same(
      [...createdKeys.keys()].filter((k) => !createsPerKey.some((r) => r.key === k)),
      [],
      'every acknowledged create is in the event store',
    );
    const patchKeys = await one<{ key: string; n: number }>(
      "select metadata->>'idempotencyKey' as key, count(*)::int as n from es_events where org_id = $1 and event_type in ('BookingRescheduled', 'BookingCanceled') group by 1",
      [orgId],
    );
    t.same(
      patchKeys.filter((r) => r.n !== 1),
      [],
      'one change per PATCH key',
    );
    t.same(
      acknowledgedPatchKeys.filter((k) => !patchKeys.some((r) => r.key === k)),
      [],
      'every acknowledged PATCH is in the event store',
    );
    const dupIds = await one<{ event_id: string }>('select event_id from es_events group by event_id having count(*) > 1');
    t.same(dupIds, [], 'no event id twice');
    const calls = await one<{ call_sid: string; n: number }>(
      "select data->>'callSid' as call_sid, count(*)::int as n from es_events where event_type = 'MissedCallRecorded' group by 1",
    );
    t.same(
      calls.filter((r) => r.n !== 1),
      [],
      'each missed call recorded once though delivered twice',
    );
    t.same(
      callSids.filter((s) => !calls.some((r) => r.call_sid === s)),
      [],
      'every acknowledged missed call is in the event store',
    );

    // Sending: every Twilio request the workers made is one ledger row (a second send for a key would be a
    // request the ledger folded into the first row), and no job key's text went to Twilio twice.
    const ledger = await one<{ job_key: string; message_id: string; to: string }>(
      'select job_key, message_id, "to" from outbound_messages',
    );
    const twilioSends = twilioApi.received.filter((r) => r.method === 'POST' && /\/Messages\.json$/.test(r.path));
    const textBacks = ledger.filter((r) => r.job_key.startsWith('text-back:'));
    const sentTwice = twilioSends.length - ledger.length;
    t.equal(sentTwice, 0, `no message sent twice (${twilioSends.length} Twilio requests, ${ledger.length} ledger rows)`);
    t.equal(new Set(textBacks.map((r) => r.to)).size, textBacks.length, 'at most one text-back per caller');

    for (const projection of PROJECTIONS) {
      const result = await verifyProjection({ db: database.db, store }, projection);
      t.ok(result.ok, `${projection.name} equals a clean rebuild`);
    }
    t.equal(kills, 3, 'one serve, the project and one worker were SIGKILLed and restarted');

    recordFigure(t, 'topology', {
      processes: 5,
      requests: stats.requests,
      keysShared: figures.keysShared,
      conflicting409: figures.conflicting409,
      replayed: figures.replayed,
      webhooksDeliveredTwice: figures.webhooksTwice,
      retried: stats.retried,
      transportErrors: stats.transportErrors,
      status503: stats.status503,
      killsSurvived: kills,
      messagesSent: twilioSends.length,
      duplicatesFound:
        dupIds.length +
        createsPerKey.filter((r) => r.n !== 1).length +
        patchKeys.filter((r) => r.n !== 1).length +
        calls.filter((r) => r.n !== 1).length +
        Math.max(0, sentTwice),
    });
  },
);
