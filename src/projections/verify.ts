import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventStore } from '../eventstore/port.ts';
import { lockCheckpoint, readCheckpoint } from './checkpoints.ts';
import type { Projection } from './projection.ts';
import { createScratchTables, dropScratchSchema, fillScratch, scratchSchema } from './scratch.ts';

/** How one table of a live read model differs from a fresh rebuild. */
export interface TableDiff {
  readonly table: string;
  readonly rows: number;
  /** In the rebuild, not live. */
  readonly missing: number;
  /** Live, not in the rebuild. */
  readonly extra: number;
  /** Same key, different content. */
  readonly different: number;
  /** A few keys of differing rows, to start looking. */
  readonly sample: string[];
}

export interface VerifyResult {
  readonly projection: string;
  readonly ok: boolean;
  readonly tables: TableDiff[];
}

/**
 * Rebuilds the projection into a scratch schema up to the live checkpoint and compares table by table.
 * The comparison holds the live checkpoint, so the live model cannot move while it is compared.
 */
export async function verifyProjection(deps: { db: Kysely<Database>; store: EventStore }, projection: Projection, options: { batchSize?: number } = {}): Promise<VerifyResult> {
  const batchSize = options.batchSize ?? 5000;
  const schema = scratchSchema('verify', projection);
  const name = `verify:${projection.name}`;
  await deps.db.deleteFrom('projection_checkpoints').where('name', '=', name).execute();
  await dropScratchSchema(deps.db, schema);
  await createScratchTables(deps.db, schema, projection);
  try {
    const target = (await readCheckpoint(deps.db, projection.name)).position;
    await fillScratch(deps, projection, schema, name, { batchSize, until: target });
    return await deps.db.transaction().execute(async (trx) => {
      const live = await lockCheckpoint(trx, projection.name);
      await fillScratch(deps, projection, schema, name, { batchSize, until: live.position, trx });
      const tables: TableDiff[] = [];
      for (const table of projection.tables) tables.push(await diffTable(trx, schema, table));
      return { projection: projection.name, ok: tables.every((t) => !t.missing && !t.extra && !t.different), tables };
    });
  } finally {
    await dropScratchSchema(deps.db, schema);
    await deps.db.deleteFrom('projection_checkpoints').where('name', '=', name).execute();
  }
}

async function primaryKey(db: Kysely<Database>, table: string): Promise<string[]> {
  const { rows } = await sql<{ column: string }>`
    select a.attname as column from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = ${`public.${table}`}::regclass and i.indisprimary
     order by array_position(i.indkey, a.attnum)`.execute(db);
  return rows.map((r) => r.column);
}

async function diffTable(db: Kysely<Database>, schema: string, table: string): Promise<TableDiff> {
  const key = await primaryKey(db, table);
  const live = sql.id('public', table);
  const fresh = sql.id(schema, table);
  const on = sql.join(key.map((k) => sql`l.${sql.id(k)} = f.${sql.id(k)}`), sql` and `);
  const keyText = sql.join(key.map((k) => sql`coalesce(l.${sql.id(k)}, f.${sql.id(k)})::text`), sql` || '/' || `);
  const { rows } = await sql<{ kind: 'missing' | 'extra' | 'different'; key: string }>`
    select case when l.${sql.id(key[0]!)} is null then 'missing' when f.${sql.id(key[0]!)} is null then 'extra' else 'different' end as kind,
           ${keyText} as key
      from ${live} l full join ${fresh} f on ${on}
     where l.${sql.id(key[0]!)} is null or f.${sql.id(key[0]!)} is null or to_jsonb(l) is distinct from to_jsonb(f)`.execute(db);
  const count = await sql<{ n: string }>`select count(*) as n from ${fresh}`.execute(db);
  return {
    table,
    rows: Number(count.rows[0]!.n),
    missing: rows.filter((r) => r.kind === 'missing').length,
    extra: rows.filter((r) => r.kind === 'extra').length,
    different: rows.filter((r) => r.kind === 'different').length,
    sample: rows.slice(0, 5).map((r) => `${r.kind} ${r.key}`),
  };
}
