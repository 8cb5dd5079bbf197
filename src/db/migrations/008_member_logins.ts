import { type Kysely, sql } from 'kysely';

/**
 * Sign-in for people: a member's password hash and single-use invites. Plain tables, never events: the
 * event store is forever and a password hash must be deletable.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One login per member; an email signs in to exactly one org (lower-cased).
    create table member_logins (
      member_id uuid primary key,
      org_id uuid not null,
      email text not null unique,
      -- scrypt$N$r$p$salt$key (base64url); null until the member chose a password
      password_hash text,
      password_set_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index member_logins_org on member_logins (org_id);

    -- An invite is its token's hash; accepting it sets used_at in the same statement that checks it.
    create table member_invites (
      token_hash text primary key,
      org_id uuid not null,
      member_id uuid not null,
      email text not null,
      role text not null,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index member_invites_member on member_invites (member_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table member_invites; drop table member_logins;`.execute(db);
}
