import { createHash } from 'node:crypto';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.ts';

const NAMES = new Map<string, string>();

/** What a {@link named} statement runs on (`runner.query`): a pg pool, or a read target's pool (`src/db/read-pool.ts`). */
export interface StatementRunner {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * A hot statement as a named prepared statement: each pooled connection parses it once, and PostgreSQL
 * may keep its plan, instead of parsing and planning it at every call. Names derive from the text, so
 * every caller sharing a pool agrees on them. Only for statements whose good plan does not depend on
 * the values (a generic plan is chosen after five runs).
 */
export function named(text: string, values: unknown[]): pg.QueryConfig {
  let name = NAMES.get(text);
  if (!name) NAMES.set(text, (name = `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  return { name, text, values };
}

/**
 * Kysely as a query builder only (kysely's "splitting query building and execution"): it compiles a hot
 * statement's text once, for {@link named}, without a connection.
 */
export const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
