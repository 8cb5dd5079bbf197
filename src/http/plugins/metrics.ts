import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../../db/kysely.ts';
import type { ReadDatabases } from '../../db/read-pool.ts';
import { replicaLags } from '../../db/replica-lag.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { SUBSCRIBERS } from '../../subscribers.ts';
import { subscriberLags, type SubscriberLag } from '../../subscriptions/lag.ts';
import { problems } from '../common/problem.ts';

/** How long database gauges are reused: a burst of scrapes (several Prometheus servers, retries) costs one read. */
export const GAUGE_CACHE_MS = 5000;
const JOB_STATES = ['queued', 'scheduled', 'running', 'failed'] as const;
const REALM = 'Bearer realm="callsnare-metrics"';

/** The database figures of one scrape. */
interface GaugeSnapshot {
  readonly lags: readonly SubscriberLag[];
  /** Null on EventStoreDB (the store's head is not in PostgreSQL). */
  readonly eventsAppended: number | null;
  /** Null until graphile-worker has installed its schema. */
  readonly jobs: Readonly<Record<(typeof JOB_STATES)[number], number>> | null;
}

/** Reads every database gauge: three queries whatever the number of subscribers. */
async function readGauges(db: Db, store: EventStore): Promise<GaugeSnapshot> {
  const lags = await subscriberLags(
    { db, store },
    SUBSCRIBERS.map((s) => s.subscriber),
  );
  const { rows: heads } = await sql<{ appended: string; jobs: string | null }>`
    select coalesce((select max(global_position) from es_events), 0) as appended, to_regclass('graphile_worker.jobs')::text as jobs`.execute(
    db,
  );
  let jobs: GaugeSnapshot['jobs'] = null;
  if (heads[0]?.jobs) {
    const { rows } = await sql<{ state: string; n: string }>`
      select case when locked_at is not null then 'running'
                  when attempts >= max_attempts then 'failed'
                  when run_at > now() then 'scheduled'
                  else 'queued' end as state, count(*) as n
        from graphile_worker.jobs group by 1`.execute(db);
    jobs = Object.fromEntries(
      JOB_STATES.map((state) => [state, Number(rows.find((r) => r.state === state)?.n ?? 0)]),
    ) as GaugeSnapshot['jobs'];
  }
  return { lags, eventsAppended: store.kind === 'postgres' ? Number(heads[0]?.appended ?? 0) : null, jobs };
}

/** `read`, shared by every caller for `ttlMs` of `clock` (and while it runs); a failed read is not kept. */
function cachedFor<T>(ttlMs: number, clock: () => Date, read: () => Promise<T>): () => Promise<T> {
  let current: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = clock().getTime();
    if (!current || now - current.at >= ttlMs || now < current.at) {
      const entry = { at: now, value: read() };
      entry.value.catch(() => {
        if (current === entry) current = undefined;
      });
      current = entry;
    }
    return current.value;
  };
}

/** With `READ_DATABASE_URL`: each replica's state and lag (read at scrape time, cached as the other gauges), and reads by database. */
function replicaMetrics(registry: Registry, reads: ReadDatabases, primary: pg.Pool, clock: () => Date): void {
  const lags = cachedFor(GAUGE_CACHE_MS, clock, () => replicaLags(primary, reads.replicas));
  new Gauge({
    name: 'callsnare_replica_up',
    help: 'Whether each read replica answered (0: down or being skipped; its reads go to the primary)',
    labelNames: ['replica'],
    registers: [registry],
    async collect() {
      for (const lag of await lags()) this.set({ replica: lag.name }, lag.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'callsnare_replica_lag_bytes',
    help: 'WAL bytes the primary has written that each read replica has not replayed yet',
    labelNames: ['replica'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const lag of await lags()) if (lag.bytes !== null) this.set({ replica: lag.name }, lag.bytes);
    },
  });
  new Gauge({
    name: 'callsnare_replica_lag_seconds',
    help: 'Age of the newest transaction each read replica replayed, while it has received WAL left to replay (0: replayed all it received)',
    labelNames: ['replica'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const lag of await lags()) if (lag.seconds !== null) this.set({ replica: lag.name }, lag.seconds);
    },
  });
  new Counter({
    name: 'callsnare_read_queries_total',
    help: 'Connections the HTTP queries checked out, by the database that served them (a replica, or primary when none could)',
    labelNames: ['database'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [database, n] of reads.checkouts) this.inc({ database }, n);
    },
  });
}

/** SHA-256 of a token: equal-length inputs for a constant-time comparison. */
const digest = (token: string) => createHash('sha256').update(token).digest();

/** onRequest of `/metrics` when `METRICS_TOKEN` is set: `Authorization: Bearer <METRICS_TOKEN>` or 401. */
function requireMetricsToken(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (!match) throw problems.unauthorized(REALM, 'send Authorization: Bearer <METRICS_TOKEN>');
    if (!timingSafeEqual(digest(match[1]!), expected))
      throw problems.unauthorized(`${REALM}, error="invalid_token"`, 'the metrics token is not valid');
  };
}

/**
 * `GET /metrics` in Prometheus text: requests by route and status, subscriber lag, events appended
 * and jobs by state (and, with read replicas, their lag and the reads each served). Database figures are read at scrape time (at most once per {@link GAUGE_CACHE_MS}),
 * so every process reports the same. With `METRICS_TOKEN` set, scrapes need it as a Bearer token.
 */
export const metricsPlugin = fp(async (app: FastifyInstance) => {
  const registry = new Registry();
  const requests = new Counter({
    name: 'callsnare_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'callsnare_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const { db, store, config, clock, reads, pool } = app.services;
  if (reads) replicaMetrics(registry, reads, pool, clock);
  const snapshot = cachedFor(GAUGE_CACHE_MS, clock, () => readGauges(db, store));
  new Gauge({
    name: 'callsnare_projection_lag_events',
    help: 'Events appended after the checkpoint of each subscriber (projections, process manager, reactor)',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      for (const lag of (await snapshot()).lags) this.set({ projection: lag.name }, lag.events);
    },
  });
  new Gauge({
    name: 'callsnare_projection_lag_seconds',
    help: 'Age of the oldest event the subscriber has not handled',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      for (const lag of (await snapshot()).lags) this.set({ projection: lag.name }, lag.seconds);
    },
  });
  new Gauge({
    name: 'callsnare_events_appended',
    help: 'Events in the PostgreSQL event store (its last global position)',
    registers: [registry],
    async collect() {
      const { eventsAppended } = await snapshot();
      if (eventsAppended !== null) this.set(eventsAppended);
    },
  });
  new Gauge({
    name: 'callsnare_jobs',
    help: 'Automation jobs by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const { jobs } = await snapshot();
      if (!jobs) return;
      this.reset();
      for (const state of JOB_STATES) this.set({ state }, jobs[state]);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  // Openness is an explicit choice: a token, or METRICS_PUBLIC=1; with neither, /metrics is not served.
  const mode = config.METRICS_TOKEN ? 'token' : config.METRICS_PUBLIC === '1' ? 'public' : 'off';
  app.log.info(
    { metrics: mode },
    mode === 'token'
      ? '/metrics needs the METRICS_TOKEN bearer token'
      : mode === 'public'
        ? '/metrics is public (METRICS_PUBLIC=1): expose it only inside your network'
        : '/metrics is off: set METRICS_TOKEN or METRICS_PUBLIC=1 to serve it',
  );
  if (mode === 'off') return;
  app.get(
    '/metrics',
    { schema: { hide: true }, ...(config.METRICS_TOKEN && { onRequest: requireMetricsToken(config.METRICS_TOKEN) }) },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
});
