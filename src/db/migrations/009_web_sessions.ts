import { type Kysely, sql } from 'kysely';

/** Web sessions (the id stored only as its SHA-256) and failed sign-ins for throttling across processes. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table web_sessions (
      id_hash text primary key,
      member_id uuid not null,
      org_id uuid not null,
      csrf_token text not null,
      created_at timestamptz not null,
      last_seen_at timestamptz not null,
      expires_at timestamptz not null,
      revoked_at timestamptz,
      user_agent text,
      ip text
    );
    create index web_sessions_member on web_sessions (member_id) where revoked_at is null;

    -- One row per failed sign-in, keyed 'account:<email>' or 'address:<ip>'; old rows are pruned on write.
    create table login_failures (
      id bigserial primary key,
      key text not null,
      at timestamptz not null
    );
    create index login_failures_key on login_failures (key, at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table login_failures; drop table web_sessions;`.execute(db);
}
