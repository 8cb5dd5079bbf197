// The real HTTP app on the bench database, built like test/support/app.ts and run like `serve`:
// a listening port on 127.0.0.1, projectors live in the background.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type RunningProcess, startProcess } from '../src/app.ts';
import type { Services } from '../src/app.ts';
import type { CommandCaller } from '../src/commands/context.ts';
import { issueCredential } from '../src/identity/index.ts';
import { catchUpCredentials } from '../src/projections/read-models/credentials.ts';
import { createOrg } from '../src/commands/orgs.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/kysely.ts';
import type { Scope } from '../src/domain/events/credential.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { createLogger } from '../src/logger.ts';
import { PROJECTIONS } from '../src/projections/registry.ts';
import { projector } from '../src/projections/projection.ts';
import { catchUp } from '../src/subscriptions/engine.ts';

/** Pool size of the app, as `openServices` uses by default. */
export const APP_POOL_SIZE = 20;

export interface BenchApp {
  readonly services: Services;
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  catchUpAll(): Promise<void>;
  /** Starts every projector in the background, as `serve` does. */
  startProjectors(): void;
  stopProjectors(): Promise<void>;
  /** An org (projected) and an integration token for it (projected, usable at once). */
  orgWithToken(name: string, scopes?: Scope[]): Promise<{ orgId: string; token: string; credentialId: string; label: string }>;
  close(): Promise<void>;
}

export function operator(orgId: string): CommandCaller {
  return { orgId, actor: { type: 'operator', id: 'bench', label: 'bench operator' }, correlationId: randomUUID() };
}

/** `env`: further configuration variables (say PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN for webhooks). */
export async function openBenchApp(url: string, options: { env?: Record<string, string> } = {}): Promise<BenchApp> {
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ...options.env });
  const log = createLogger(config.LOG_LEVEL ?? 'silent');
  const { db, pool } = createDb({ url, max: APP_POOL_SIZE, applicationName: 'callsnare-bench-app' });
  const store = new PostgresEventStore({ pool, url });
  const services: Services = { config, log, db, pool, store, clock: () => new Date(), databaseUrl: url };
  const http = await startProcess(services, {
    http: { server: { rateLimit: { max: 1e9, timeWindowMs: 60_000 } }, listen: { port: 0, host: '127.0.0.1' } },
  });
  const app = http.app!;
  const address = listeningUrl(app);

  // The projectors as `serve` runs them, started and stopped on their own (a process part of their own).
  let projectors: Promise<RunningProcess> | undefined;
  const catchUpAll = async () => {
    for (const projection of PROJECTIONS) await catchUp(services, projector(projection));
  };
  const stopProjectors = async () => {
    const running = projectors;
    projectors = undefined;
    await (await running)?.stop();
  };

  return {
    services,
    app,
    baseUrl: address,
    catchUpAll,
    startProjectors() {
      projectors ??= startProcess(services, { projector: true });
    },
    stopProjectors,
    async orgWithToken(name, scopes = ['READ_BOOKINGS', 'WRITE_BOOKINGS']) {
      const orgId = randomUUID();
      await createOrg(services, operator(orgId), { orgId, name, timezone: 'America/Chicago', phones: [] });
      const label = `${name} integration`;
      const issued = await issueCredential(services, operator(orgId), { orgId, label, kind: 'integration', scopes });
      await catchUpAll();
      // Until the credential itself is in (a long transaction elsewhere may hide the newest commits a moment).
      await catchUpCredentials(services, issued.position);
      return { orgId, token: issued.token, credentialId: issued.id, label };
    },
    async close() {
      await stopProjectors();
      await http.stop();
      await store.close();
      await db.destroy();
    },
  };
}

/**
 * A time zone where it is about noon as the bench starts. Bench orgs that text take it, and their
 * customers a number whose area code (555) names no zone, so the recipient's hours are the org's
 * (src/automation/recipient-hours.ts): every text goes out whatever the hour the bench runs at, instead
 * of being deferred to the morning at night, which would change what a run measures.
 */
export function middayTimeZone(now = new Date()): string {
  const offset = ((12 - now.getUTCHours() + 36) % 24) - 12;
  return offset === 0 ? 'Etc/GMT' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

/** Customer number `n` (0 ≤ n < 8,000,000), E.164 in area code 555, which no time zone is known for. */
export const customerPhone = (n: number) => `+1555${String(2_000_000 + n)}`;

function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the bench app is not listening on a TCP port');
  return `http://127.0.0.1:${address.port}`;
}
