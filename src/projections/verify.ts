import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventStore } from '../eventstore/port.ts';
import { deleteCheckpoint, readCheckpoint } from '../subscriptions/checkpoints.ts';
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

/** Rows compared per round trip. */
const PAGE = 5000;
/** Snapshots verify takes before giving up (one, unless a snapshot transaction is cut off). */
const ATTEMPTS = 3;

/**
 * Rebuilds the projection into a scratch schema and compares it with the live model, table by table,
 * without ever holding a transaction id or a lock the live projector needs: a long transaction with an
 * xid would hold back `pg_snapshot_xmin` for the whole server and stall every subscriber.
 *
 * The scratch copy is built in short batches up to the live checkpoint. The live side is read in one
 * read-only REPEATABLE READ transaction (it never gets an xid): its snapshot shows the live tables exactly
 * as of the checkpoint it shows (the projector writes both in one transaction), while the projector goes
 * on. The copy catches up to that checkpoint in short batches, then both sides are read in primary-key
 * ranges and compared by a hash of each row.
 */
export async function verifyProjection(
  deps: { db: Kysely<Database>; store: EventStore },
  projection: Projection,
  options: { batchSize?: number } = {},
): Promise<VerifyResult> {
  const batchSize = options.batchSize ?? 5000;
  const schema = scratchSchema('verify', projection);
  const name = `verify:${projection.name}`;
  await deleteCheckpoint(deps.db, name);
  await dropScratchSchema(deps.db, schema);
  await createScratchTables(deps.db, schema, projection);
  try {
    await fillScratch(deps, projection, schema, name, { batchSize, until: (await readCheckpoint(deps.db, projection.name)).position });
    for (let attempt = 1; ; attempt++) {
      try {
        const tables = await deps.db
          .transaction()
          .setIsolationLevel('repeatable read')
          .setAccessMode('read only')
          .execute(async (snapshot) => {
            // The snapshot's checkpoint: the scratch copy catches up to it (short batches on other
            // connections), so the two sides hold the same events however far the projector went since.
            const live = (await readCheckpoint(snapshot, projection.name)).position;
            await fillScratch(deps, projection, schema, name, { batchSize, until: live });
            const diffs: TableDiff[] = [];
            for (const table of projection.tables) diffs.push(await diffTable(snapshot, deps.db, schema, table));
            return diffs;
          });
        return { projection: projection.name, ok: tables.every((t) => !t.missing && !t.extra && !t.different), tables };
      } catch (error) {
        // The snapshot transaction idled past idle_in_transaction_session_timeout while a large gap was
        // filled: the copy is further along now, so the next snapshot's gap is smaller.
        if (attempt >= ATTEMPTS) throw error;
      }
    }
  } finally {
    await dropScratchSchema(deps.db, schema);
    await deleteCheckpoint(deps.db, name);
  }
}

interface KeyColumn {
  readonly name: string;
  readonly type: string;
}

async function primaryKey(db: Kysely<Database>, table: string): Promise<KeyColumn[]> {
  const { rows } = await sql<KeyColumn>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = ${`public.${table}`}::regclass and i.indisprimary
     order by array_position(i.indkey, a.attnum)`.execute(db);
  return rows;
}

interface HashedRow {
  readonly key: string[];
  readonly hash: string;
}

/** Rows of `schema.table` with key after `after` (and at most `upTo`, if given), in key order, with a hash of each. */
async function hashedRows(
  db: Kysely<Database>,
  schema: string,
  table: string,
  key: KeyColumn[],
  range: { after?: string[]; upTo?: string[]; limit?: number },
): Promise<HashedRow[]> {
  const columns = sql.join(key.map((k) => sql`t.${sql.id(k.name)}`));
  const values = (v: string[]) => sql.join(key.map((k, i) => sql`cast(${v[i]!} as ${sql.raw(k.type)})`));
  const conditions: RawBuilder<unknown>[] = [];
  if (range.after) conditions.push(sql`(${columns}) > (${values(range.after)})`);
  if (range.upTo) conditions.push(sql`(${columns}) <= (${values(range.upTo)})`);
  const { rows } = await sql<{ key: string[]; hash: string }>`
    select array[${sql.join(key.map((k) => sql`t.${sql.id(k.name)}::text`))}] as key, md5(to_jsonb(t)::text) as hash
      from ${sql.id(schema, table)} t
     ${conditions.length ? sql`where ${sql.join(conditions, sql` and `)}` : sql``}
     order by ${columns}
     ${range.limit ? sql`limit ${range.limit}` : sql``}`.execute(db);
  return rows;
}

/**
 * Compares the live table (read through `live`, the snapshot transaction) with its scratch copy (read
 * through `db`), one primary-key range at a time: a page of live rows, then the scratch rows up to the
 * last live key, so the database orders both sides and nothing is held in memory beyond a page.
 */
async function diffTable(live: Kysely<Database>, db: Kysely<Database>, schema: string, table: string): Promise<TableDiff> {
  const key = await primaryKey(live, table);
  const diffs: { kind: 'missing' | 'extra' | 'different'; key: string }[] = [];
  let rows = 0;
  let after: string[] | undefined;
  for (;;) {
    const page = await hashedRows(live, 'public', table, key, { ...(after && { after }), limit: PAGE });
    const last = page.at(-1)?.key;
    const fresh = await hashedRows(db, schema, table, key, {
      ...(after && { after }),
      ...(page.length === PAGE && last && { upTo: last }),
    });
    rows += fresh.length;
    const expected = new Map(fresh.map((r) => [r.key.join('/'), r.hash]));
    for (const row of page) {
      const id = row.key.join('/');
      const hash = expected.get(id);
      if (hash === undefined) diffs.push({ kind: 'extra', key: id });
      else if (hash !== row.hash) diffs.push({ kind: 'different', key: id });
      expected.delete(id);
    }
    for (const id of expected.keys()) diffs.push({ kind: 'missing', key: id });
    if (page.length < PAGE) break;
    after = last;
  }
  return {
    table,
    rows,
    missing: diffs.filter((d) => d.kind === 'missing').length,
    extra: diffs.filter((d) => d.kind === 'extra').length,
    different: diffs.filter((d) => d.kind === 'different').length,
    sample: diffs.slice(0, 5).map((d) => `${d.kind} ${d.key}`),
  };
}
