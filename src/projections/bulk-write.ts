import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from '../db/schema.ts';
import type { TableRows } from './projection.ts';

/**
 * A Kysely instance on one checked-out client, so a kysely transaction and a `COPY` on that client
 * (which kysely cannot issue) are one transaction. The caller releases the client.
 */
export function clientDb(client: pg.PoolClient): Kysely<Database> {
  const held = { query: client.query.bind(client), release: () => {} };
  const pool = { connect: async () => held, end: async () => {} };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: pool }) });
}

/** A value in COPY's text format (the same text pg's parameters carry; JSON columns arrive as strings). */
function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, escapeChar) : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  throw new TypeError(`cannot COPY a ${typeof value} value; pass it as text`);
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeChar = (c: string) => ESCAPES[c]!;

/** Bytes per chunk handed to the COPY stream. */
const CHUNK = 1 << 20;
const TAB = 0x09;
const NEWLINE = 0x0a;

// Fields are encoded straight into the chunk's bytes: building a line, then a chunk, then its bytes would
// copy every row's text (mostly its JSON state) three times.
function* copyChunks(columns: readonly string[], rows: readonly Record<string, unknown>[]): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK);
  let at = 0;
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      const text = copyText(row[columns[i]!]);
      // UTF-8 takes at most 3 bytes per UTF-16 unit; the separator or newline one more.
      const room = 3 * text.length + 1;
      if (at + room > chunk.length) {
        if (at) yield chunk.subarray(0, at);
        chunk = Buffer.allocUnsafe(Math.max(CHUNK, room));
        at = 0;
      }
      at += chunk.write(text, at);
      chunk[at++] = i === columns.length - 1 ? NEWLINE : TAB;
    }
  }
  if (at) yield chunk.subarray(0, at);
}

/** A batch's rows for one table, already in COPY's text format (see {@link encodeTableRows}). */
export interface EncodedRows {
  readonly table: string;
  readonly columns: readonly string[];
  readonly chunks: readonly Buffer[];
  readonly replace: TableRows['replace'];
}

/**
 * Encodes a batch's rows for COPY ahead of its transaction, so a rebuild encodes the next batch while
 * the server still loads the previous one.
 */
export function encodeTableRows(tables: readonly TableRows[]): EncodedRows[] {
  return tables.map(({ table, rows, replace }) => {
    const columns = rows.length ? Object.keys(rows[0]!) : [];
    return { table, columns, chunks: rows.length ? [...copyChunks(columns, rows)] : [], replace };
  });
}

/**
 * Writes a batch's rows into `schema`'s tables inside the transaction `trx` open on `client`: the rows
 * they replace are deleted first, then every row goes in with one `COPY` per table.
 */
export async function writeTableRows(
  client: pg.PoolClient,
  trx: Transaction<Database>,
  schema: string,
  tables: readonly EncodedRows[],
): Promise<void> {
  for (const { table, columns, chunks, replace } of tables) {
    if (replace?.keys.length)
      await sql`delete from ${sql.id(schema, table)} where ${sql.id(replace.column)} = any(${replace.keys})`.execute(trx);
    if (!chunks.length) continue;
    const target = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)} (${columns.map((c) => client.escapeIdentifier(c)).join(', ')})`;
    await pipeline(chunks, client.query(copyFrom(`copy ${target} from stdin`)));
  }
}
