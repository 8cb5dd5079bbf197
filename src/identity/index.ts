/**
 * Identity: people and their secrets (logins, invites, sessions, passwords, sign-in throttling, member
 * use cases). Everything outside this folder imports it through this door.
 */
export {
  deleteLogin,
  findLoginByEmail,
  rehashLogin,
  findLoginById,
  LoginTakenError,
  normalEmail,
  upsertLogin,
  type MemberLogin,
} from './logins.ts';
export { acceptInvite, createInvite, endOpenInvites, findOpenInvite, INVITE_TTL_MS, type Invite } from './invites.ts';
export {
  createSession,
  findSession,
  revokeMemberSessions,
  revokeSession,
  revokeSessionByCookie,
  sessionStillLive,
  SESSION_ABSOLUTE_MS,
  SESSION_COOKIE,
  sessionCookieName,
  SESSION_IDLE_MS,
  type WebSession,
} from './sessions.ts';
export { decoyHash, hashPassword, needsRehash, PASSWORD_MAX, PASSWORD_MIN, SCRYPT, verifyPassword } from './passwords.ts';
export {
  ACCOUNT_CEILING,
  ACCOUNT_LIMIT,
  ADDRESS_LIMIT,
  addressKey,
  countAttempt,
  countHits,
  countInviteAttempt,
  INVITE_ADDRESS_LIMIT,
  signInSucceeded,
  WINDOW_MS,
} from './throttle.ts';
export { AUTH_FAILURE_LIMIT, AuthFailureLimiter } from './auth-failures.ts';
export { HashGate, HashingBusyError } from './hash-gate.ts';
export {
  AlreadyMemberError,
  appOrigin,
  changeRoleEverywhere,
  checkPassword,
  endSessionsOf,
  removeMemberEverywhere,
  ensureMember,
  inviteMember,
  mayActOn,
  requestPasswordReset,
  RESET_TTL_MS,
  resetLink,
  setMemberPassword,
  TargetRoleError,
  WeakPasswordError,
} from './members.ts';
export { logMailer, type Mail, type Mailer } from './mailer.ts';
export { ACCESS_CHANGED_CHANNEL, announceAccessChanged } from './access-notice.ts';
export { webDb, type WebDb, type WebTables } from './tables.ts';
export { ENDED_KEPT_MS, pruneIdentity, type IdentityPruned } from './cleanup.ts';
export { hashToken, isWellFormedToken, mintToken, TOKEN_PREFIX, type TokenKind } from './tokens.ts';
export { issueCredential, loadCredential, revokeCredential, type IssuedCredential } from './credentials.ts';
export { findCredentialByHash, listCredentials, touchCredential, type CredentialRecord } from './credential-lookup.ts';
