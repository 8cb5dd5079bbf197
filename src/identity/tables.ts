import type { Generated } from 'kysely';
import type { Db } from '../db/kysely.ts';

/** Row of `member_logins` (migration 008). */
export interface MemberLoginsTable {
  member_id: string;
  org_id: string;
  email: string;
  password_hash: string | null;
  password_set_at: Date | null;
  created_at: Date;
}

/** Row of `member_invites` (migration 008): only the token's hash is kept. */
export interface MemberInvitesTable {
  token_hash: string;
  org_id: string;
  member_id: string;
  email: string;
  role: string;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
}

/** Row of `web_sessions` (migration 009): only the session id's hash is kept. */
export interface WebSessionsTable {
  id_hash: string;
  member_id: string;
  org_id: string;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  ip: string | null;
}

/** Row of `login_failures` (migration 009). */
export interface LoginFailuresTable {
  id: Generated<string>;
  key: string;
  at: Date;
}

/** The web app's own tables, beside the core schema. */
export type WebTables = {
  member_logins: MemberLoginsTable;
  member_invites: MemberInvitesTable;
  web_sessions: WebSessionsTable;
  login_failures: LoginFailuresTable;
};

/** The database seen with the web app's tables. */
export const webDb = (db: Db) => db.withTables<WebTables>();
export type WebDb = ReturnType<typeof webDb>;
