// Which event store the app-level tests (testApp, secondServer, startServe) run on: the one `EVENT_STORE`
// selects, as the service does. EVENT_STORE=esdb with EVENTSTORE_CONNECTION_STRING runs them on that
// EventStoreDB server; EVENT_STORE=esdb without one skips every test of a file that uses this support.
import type pg from 'pg';
import t from 'tap';
import { testEnv } from '../../src/config.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';

/** The store the tests run on; `skipReason` when it is selected but cannot be reached. */
export interface StoreSelection {
  readonly kind: 'postgres' | 'esdb';
  readonly connectionString?: string;
  readonly skipReason?: string;
}

/** Reads the selection from the test environment (see `testEnv` in src/config.ts). */
export function selectStore(env: ReturnType<typeof testEnv> = testEnv()): StoreSelection {
  const selected = env.eventStore ?? 'postgres';
  if (selected === 'postgres') return { kind: 'postgres' };
  if (selected !== 'esdb') return { kind: 'postgres', skipReason: `EVENT_STORE=${selected} is not a store (postgres or esdb)` };
  if (!env.eventStoreConnectionString) {
    return {
      kind: 'esdb',
      skipReason:
        'EVENT_STORE=esdb needs EVENTSTORE_CONNECTION_STRING (docker compose up -d eventstore; ' +
        "EVENTSTORE_CONNECTION_STRING='kurrentdb://localhost:2113?tls=false')",
    };
  }
  return { kind: 'esdb', connectionString: env.eventStoreConnectionString };
}

/** This run's selection. */
export const STORE = selectStore();

if (STORE.skipReason) {
  // Every test of the file is skipped (as `filter: only`), the reason printed once above them.
  t.comment(`skipped: ${STORE.skipReason}`);
  t.runOnly = true;
}

/**
 * Opens the selected store for one test app (PostgreSQL: on the test database's pool). The EventStoreDB
 * client is loaded only when selected, as `openServices` does.
 */
export async function openTestStore(pool: pg.Pool, url: string): Promise<EventStore> {
  if (STORE.kind === 'esdb' && STORE.connectionString) {
    const { EsdbEventStore } = await import('../../src/eventstore/esdb/store.ts');
    return new EsdbEventStore({ connectionString: STORE.connectionString });
  }
  // Also when a selected store cannot be reached: a file's top-level setup still runs (on PostgreSQL)
  // while every one of its tests is skipped.
  return new PostgresEventStore({ pool, url, pollIntervalMs: 100 });
}

/** The variables a child `callsnare` process needs to run on the selected store. */
export function storeEnv(): Record<string, string> {
  return STORE.kind === 'esdb' && STORE.connectionString
    ? { EVENT_STORE: 'esdb', EVENTSTORE_CONNECTION_STRING: STORE.connectionString }
    : {};
}
