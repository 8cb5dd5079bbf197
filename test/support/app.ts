import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Services, startProcess } from '../../src/app.ts';
import type { ServerOptions } from '../../src/http/server.ts';
import { issueCredential } from '../../src/identity/index.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { createDb } from '../../src/db/kysely.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { loadConfig } from '../../src/config.ts';
import type { Scope } from '../../src/domain/events/credential.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import type { Position } from '../../src/eventstore/port.ts';
import type { Logger } from 'pino';
import { createLogger } from '../../src/logger.ts';
import { PROJECTIONS } from '../../src/projections/registry.ts';
import { projector } from '../../src/projections/projection.ts';
import { CheckpointSignal } from '../../src/subscriptions/checkpoint-signal.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { testDatabase, type TestDatabase } from './db.ts';
import { openTestStore, storeEnv } from './store.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A controllable clock: starts at `start`, moves only when told. */
export interface TestClock {
  (): Date;
  set(at: Date | string): void;
  advance(ms: number): void;
}

export function testClock(start: Date | string = new Date()): TestClock {
  let now = new Date(start).getTime();
  const clock = (() => new Date(now)) as TestClock;
  clock.set = (at) => {
    now = new Date(at).getTime();
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

/** A real app on a fresh database: services, the fastify instance (for inject or listen), and helpers. */
export interface TestApp {
  readonly database: TestDatabase;
  readonly services: Services;
  readonly app: FastifyInstance;
  /** Applies every projection up to the store's head (deterministic alternative to the live projectors). */
  catchUpAll(): Promise<void>;
  /** Creates an org (projected) and returns its id. */
  createOrg(input?: { name?: string; timezone?: string; phones?: string[] }): Promise<string>;
  /** Issues an integration token for an org (projected, usable at once). */
  token(orgId: string, scopes?: Scope[], label?: string): Promise<{ id: string; token: string }>;
  /** Issues a member token. */
  memberToken(orgId: string, role: MemberRole, email?: string): Promise<{ id: string; token: string; memberId: string }>;
}

export function operator(orgId: string): CommandCaller {
  return { orgId, actor: { type: 'operator', id: 'test', label: 'test operator' }, correlationId: randomUUID() };
}

/** Twilio as the caller of a webhook command (a missed call, an inbound text). */
export function twilioCaller(orgId: string): CommandCaller {
  return { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
}

/** A team member (a fresh member id each call) as the caller of a command. */
export function memberCaller(orgId: string): CommandCaller {
  return { orgId, actor: { type: 'team_member', id: randomUUID(), label: 'dana@acme.test' }, correlationId: randomUUID() };
}

/**
 * Builds the app against a fresh migrated database. `liveProjectors: true` runs the projectors in the
 * background as `serve` does (for read-your-writes tests); otherwise call `catchUpAll()`.
 */
export async function testApp(
  t: Teardown,
  options: { clock?: () => Date; liveProjectors?: boolean; server?: ServerOptions; env?: Record<string, string>; log?: Logger } = {},
): Promise<TestApp> {
  const database = await testDatabase(t);
  const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', ...storeEnv(), ...options.env });
  const log = options.log ?? createLogger(config.LOG_LEVEL ?? 'silent');
  const store = await openTestStore(database.pool, database.url);
  const services: Services = {
    config,
    log,
    db: database.db,
    pool: database.pool,
    store,
    clock: options.clock ?? (() => new Date()),
    databaseUrl: database.url,
    checkpoints: new CheckpointSignal(database.url, database.pool),
  };
  // As `serve --no-worker` runs it (or without the projectors, which `catchUpAll` then stands in for).
  const started = await startProcess(services, {
    http: { ...(options.server && { server: options.server }) },
    projector: options.liveProjectors ?? false,
  });
  const app = started.app!;
  t.teardown(async () => {
    await started.stop();
    await services.checkpoints?.close();
    await store.close();
  });
  const catchUpAll = async () => {
    const until = store.kind === 'esdb' ? await store.headPosition() : await committedHead(database);
    // Generous: on a loaded machine a commit may take a while to become visible to readers.
    for (const p of PROJECTIONS) await catchUp(services, projector(p), { until, timeoutMs: 60_000 });
  };
  return {
    database,
    services,
    app,
    catchUpAll,
    async createOrg(input = {}) {
      const orgId = randomUUID();
      await createOrg(services, operator(orgId), {
        orgId,
        name: input.name ?? 'Acme HVAC',
        timezone: input.timezone ?? 'America/Chicago',
        phones: input.phones ?? [],
      });
      await catchUpAll();
      return orgId;
    },
    async token(orgId, scopes = ['READ_BOOKINGS', 'WRITE_BOOKINGS'], label = 'Test integration') {
      const issued = await issueCredential(services, operator(orgId), { orgId, label, kind: 'integration', scopes });
      await catchUpAll();
      return { id: issued.id, token: issued.token };
    },
    async memberToken(orgId, role, email = `${role}-${randomUUID().slice(0, 6)}@example.com`) {
      const memberId = randomUUID();
      const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
      await catchUpAll();
      return { id: issued.id, token: issued.token, memberId };
    },
  };
}

/** PostgreSQL: everything committed so far, visible or not yet (see waitForHead in the conformance suite). */
async function committedHead(database: TestDatabase): Promise<Position | null> {
  const { rows } = await database.pool.query<{ t: string; g: string }>(
    'select transaction_id::text as t, global_position::text as g from es_events order by transaction_id desc, global_position desc limit 1',
  );
  return rows[0] ? { commit: BigInt(rows[0].t), prepare: BigInt(rows[0].g) } : null;
}

/**
 * A second server on the same database as `ctx`, sharing nothing in memory with it (its own pool, store,
 * in-process key map and caches): what another `serve` process would be.
 */
export async function secondServer(t: Teardown, ctx: TestApp, server?: ServerOptions): Promise<FastifyInstance> {
  const { db, pool } = createDb({ url: ctx.database.url, max: 5, applicationName: 'second-server' });
  const store = await openTestStore(pool, ctx.database.url);
  const services: Services = { ...ctx.services, db, pool, store, checkpoints: new CheckpointSignal(ctx.database.url, pool) };
  const started = await startProcess(services, { http: { ...(server && { server }) } });
  const app = started.app!;
  t.teardown(async () => {
    await started.stop();
    await services.checkpoints?.close();
    await store.close();
    await db.destroy();
  });
  return app;
}
