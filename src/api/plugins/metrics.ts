import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { projectionLags } from '../../projections/lag.ts';
import { PROJECTIONS } from '../../projections/registry.ts';

/**
 * `GET /metrics` in Prometheus text: requests by route and status, projection lag, events appended
 * and jobs by state. Database figures are read at scrape time, so every process reports the same.
 */
export const metricsPlugin = fp(async (app: FastifyInstance) => {
  const registry = new Registry();
  const requests = new Counter({ name: 'callsnare_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'callsnare_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const { db, store } = app.services;
  new Gauge({
    name: 'callsnare_projection_lag_events',
    help: 'Events appended after the projection checkpoint',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      for (const lag of await projectionLags({ db, store }, PROJECTIONS)) this.set({ projection: lag.name }, lag.events);
    },
  });
  new Gauge({
    name: 'callsnare_projection_lag_seconds',
    help: 'Age of the oldest event the projection has not handled',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      for (const lag of await projectionLags({ db, store }, PROJECTIONS)) this.set({ projection: lag.name }, lag.seconds);
    },
  });
  new Gauge({
    name: 'callsnare_events_appended',
    help: 'Events in the PostgreSQL event store (its last global position)',
    registers: [registry],
    async collect() {
      if (store.kind !== 'postgres') return;
      const { rows } = await sql<{ n: string }>`select coalesce(max(global_position), 0) as n from es_events`.execute(db);
      this.set(Number(rows[0]!.n));
    },
  });
  new Gauge({
    name: 'callsnare_jobs',
    help: 'Automation jobs by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const { rows: exists } = await sql<{ t: string | null }>`select to_regclass('graphile_worker.jobs')::text as t`.execute(db);
      if (!exists[0]?.t) return;
      const { rows } = await sql<{ state: string; n: string }>`
        select case when locked_at is not null then 'running'
                    when attempts >= max_attempts then 'failed'
                    when run_at > now() then 'scheduled'
                    else 'queued' end as state, count(*) as n
          from graphile_worker.jobs group by 1`.execute(db);
      this.reset();
      for (const state of ['queued', 'scheduled', 'running', 'failed']) this.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
});
