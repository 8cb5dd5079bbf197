import { type InferResult, sql } from 'kysely';
import type pg from 'pg';
import type { Db } from '../db/kysely.ts';
import { compiler, named } from '../db/named-statement.ts';

/** What authentication knows about a credential. */
export interface CredentialRecord {
  readonly id: string;
  readonly orgId: string;
  readonly kind: 'integration' | 'member';
  readonly label: string;
  readonly scopes: string[];
  readonly memberId: string | null;
  readonly role: string | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly createdAt: Date;
}

const columns = [
  'credentials.id',
  'credentials.org_id',
  'credentials.kind',
  'credentials.label',
  'credentials.scopes',
  'credentials.member_id',
  'credentials.role',
  'credentials.expires_at',
  'credentials.revoked_at',
  'credential_usage.last_used_at',
  'credentials.created_at',
] as const;

function toRecord(row: {
  id: string;
  org_id: string;
  kind: 'integration' | 'member';
  label: string;
  scopes: string[];
  member_id: string | null;
  role: string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
  created_at: Date | string;
}): CredentialRecord {
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return {
    id: row.id,
    orgId: row.org_id,
    kind: row.kind,
    label: row.label,
    scopes: row.scopes,
    memberId: row.member_id,
    role: row.role,
    expiresAt: date(row.expires_at),
    revokedAt: date(row.revoked_at),
    lastUsedAt: date(row.last_used_at),
    createdAt: new Date(row.created_at),
  };
}

const byHash = (db: Db, tokenHash: string) =>
  db
    .selectFrom('credentials')
    .leftJoin('credential_usage', 'credential_usage.credential_id', 'credentials.id')
    .select(columns)
    // The org stream's name (domain/org.ts orgStream) spelled in SQL: one round trip instead of two.
    .select((eb) =>
      eb
        .selectFrom('es_streams')
        .select('es_streams.last_hash')
        .where('es_streams.stream_id', '=', sql<string>`'org-' || credentials.org_id::text`)
        .as('org_head'),
    )
    .where('credentials.token_hash', '=', tokenHash);

const byHashText = byHash(compiler, '').compile().sql;

/**
 * Looks a credential up by its token hash, with the head of its org's stream in the PostgreSQL event store
 * (`orgHead`: the last event's hash, null when that store holds no such stream) read in the same statement.
 * Every authenticated request runs it: compiled once, sent on `pool` as a named prepared statement.
 */
export async function findCredentialByHash(
  pool: pg.Pool,
  tokenHash: string,
): Promise<(CredentialRecord & { orgHead: string | null }) | undefined> {
  const { rows } = await pool.query<InferResult<ReturnType<typeof byHash>>[number]>(named(byHashText, [tokenHash]));
  const row = rows[0];
  return row && { ...toRecord(row), orgHead: row.org_head };
}

/** An org's credentials, newest first (never the secret: it is not stored). */
export async function listCredentials(db: Db, orgId: string): Promise<CredentialRecord[]> {
  const rows = await db
    .selectFrom('credentials')
    .leftJoin('credential_usage', 'credential_usage.credential_id', 'credentials.id')
    .select(columns)
    .where('credentials.org_id', '=', orgId)
    .orderBy('credentials.created_at', 'desc')
    .execute();
  return rows.map(toRecord);
}

/** Records use, at most once a minute per credential so hot tokens do not write on every request. */
export async function touchCredential(db: Db, id: string, at: Date): Promise<void> {
  await db
    .insertInto('credential_usage')
    .values({ credential_id: id, last_used_at: at })
    .onConflict((c) =>
      c
        .column('credential_id')
        .doUpdateSet({ last_used_at: at })
        .where('credential_usage.last_used_at', '<', sql<Date>`${at}::timestamptz - interval '1 minute'`),
    )
    .execute();
}
