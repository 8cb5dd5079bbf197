import { randomUUID } from 'node:crypto';
import type { Services } from '../services.ts';
import type { CommandCaller } from '../commands/context.ts';
import { loadOrg } from '../commands/org-reads.ts';
import { addMember, changeMemberRole, removeMember } from '../commands/orgs.ts';
import { projector } from '../projections/projection.ts';
import { catchUpCredentials } from '../projections/read-models/credentials.ts';
import { orgsProjection } from '../projections/read-models/orgs.ts';
import { catchUp } from '../subscriptions/engine.ts';
import type { MemberRole } from '../domain/events/org.ts';
import type { Position } from '../eventstore/port.ts';
import { announceAccessChanged } from './access-notice.ts';
import { createInvite } from './invites.ts';
import { endOpenInvites } from './invites.ts';
import { deleteLogin, findLoginByEmail, LoginTakenError, normalEmail, upsertLogin } from './logins.ts';
import { revokeMemberSessions } from './sessions.ts';
import { webDb } from './tables.ts';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './passwords.ts';
import type { Mailer } from './mailer.ts';

type Deps = Pick<Services, 'store' | 'clock' | 'db' | 'config'>;
type RemoveDeps = Pick<Services, 'store' | 'clock' | 'db' | 'config' | 'log'>;

/** A password too short or too long; the message says which bound. */
export class WeakPasswordError extends Error {
  override name = 'WeakPasswordError';
}

/** Checks a chosen password's length (the only rule: length beats composition rules). */
export function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN) throw new WeakPasswordError(`the password must have at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) throw new WeakPasswordError(`the password must have at most ${PASSWORD_MAX} characters`);
}

/** The origin people open the app at: PUBLIC_BASE_URL, else the address `serve` listens on. */
export function appOrigin(config: Pick<Deps['config'], 'PUBLIC_BASE_URL' | 'HOST' | 'PORT'>): string {
  return (config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/+$/, '');
}

/**
 * Finds the org's member with this email, or adds one with the role (MemberAdded). An email that already
 * signs in to another org is refused before anything is recorded.
 */
export async function ensureMember(deps: Deps, caller: CommandCaller, input: { orgId: string; email: string; role: MemberRole }) {
  const login = await findLoginByEmail(deps.db, input.email);
  if (login && login.orgId !== input.orgId) throw new LoginTakenError('taken');
  const org = await loadOrg(deps, input.orgId);
  const existing = org.members.find((m) => m.email.toLowerCase() === input.email.toLowerCase());
  if (existing) return { memberId: existing.memberId, role: existing.role, added: false, position: null as Position | null };
  const memberId = randomUUID();
  const added = await addMember(deps, caller, { orgId: input.orgId, memberId, email: input.email, role: input.role });
  return { memberId, role: input.role, added: true, position: added.position };
}

/** Sets (or replaces) a member's password; their open sessions end. */
export async function setMemberPassword(
  deps: Deps,
  input: { orgId: string; memberId: string; email: string; password: string },
): Promise<void> {
  checkPassword(input.password);
  await upsertLogin(
    deps.db,
    { orgId: input.orgId, memberId: input.memberId, email: input.email, passwordHash: await hashPassword(input.password) },
    deps.clock(),
  );
}

/** The email is already a member who signs in (or is being invited by an owner-only path): invitations are for new people. */
export class AlreadyMemberError extends Error {
  override name = 'AlreadyMemberError';
}

/** The caller's role may not act on this member's current role (only an owner acts on an owner). */
export class TargetRoleError extends Error {
  override name = 'TargetRoleError';
}

/** Who may act on a member holding `targetRole`: only an owner (or the operator) acts on an owner. */
export function mayActOn(byRole: MemberRole | 'operator', targetRole: MemberRole): boolean {
  return targetRole !== 'owner' || byRole === 'owner' || byRole === 'operator';
}

/**
 * Invites a new person (adding them as a member) and returns the single-use link that lets them choose a
 * password. An email that already signs in is refused ({@link AlreadyMemberError}): a password reset is the
 * person's own ({@link resetLink}), never a link handed to someone else. A member who was invited but never
 * chose a password may be invited again (the earlier link ends), by a caller allowed to act on their role.
 */
export async function inviteMember(
  deps: Deps,
  caller: CommandCaller,
  input: { orgId: string; email: string; role: MemberRole; byRole: MemberRole | 'operator' },
) {
  const login = await findLoginByEmail(deps.db, input.email);
  if (login?.passwordHash) {
    if (login.orgId !== input.orgId) throw new LoginTakenError('taken');
    throw new AlreadyMemberError(`${normalEmail(input.email)} is already a member and signs in; a password reset is their own`);
  }
  const org = await loadOrg(deps, input.orgId);
  const current = org.members.find((m) => m.email.toLowerCase() === normalEmail(input.email));
  if (current && !login) throw new AlreadyMemberError(`${normalEmail(input.email)} is already a member`);
  if (current && !mayActOn(input.byRole, current.role)) throw new TargetRoleError("only an owner acts on an owner's account");
  const member = await ensureMember(deps, caller, input);
  const now = deps.clock();
  await upsertLogin(deps.db, { orgId: input.orgId, memberId: member.memberId, email: input.email, passwordHash: null }, now);
  const invite = await createInvite(deps.db, { orgId: input.orgId, memberId: member.memberId, email: input.email, role: member.role }, now);
  return {
    memberId: member.memberId,
    role: member.role,
    added: member.added,
    position: member.position,
    url: `${appOrigin(deps.config)}/app/invite/${invite.token}`,
    expiresAt: invite.expiresAt,
  };
}

/**
 * A password-reset link for a member of the org, for the person themself (the operator's
 * `callsnare member reset-link`): any earlier open link of theirs ends. Undefined when the email is not a
 * member of this org.
 */
export async function resetLink(deps: Deps, input: { orgId: string; email: string }) {
  const org = await loadOrg(deps, input.orgId);
  const member = org.members.find((m) => m.email.toLowerCase() === normalEmail(input.email));
  if (!member) return undefined;
  const login = await findLoginByEmail(deps.db, input.email);
  if (login && login.memberId !== member.memberId) return undefined;
  const now = deps.clock();
  if (!login) await upsertLogin(deps.db, { orgId: input.orgId, memberId: member.memberId, email: input.email, passwordHash: null }, now);
  const invite = await createInvite(deps.db, { orgId: input.orgId, memberId: member.memberId, email: input.email, role: member.role }, now);
  return { memberId: member.memberId, url: `${appOrigin(deps.config)}/app/invite/${invite.token}`, expiresAt: invite.expiresAt };
}

/** How long a reset link asked for from the sign-in page works. */
export const RESET_TTL_MS = 3600_000;

/**
 * A person forgot their password (the sign-in page): when the email belongs to a member, a single-use
 * link to choose a new one is sent to that email through the mail port, and every earlier link of theirs
 * ends. The caller learns nothing either way (the route answers the same), and never gets the link.
 */
export async function requestPasswordReset(deps: Deps, mailer: Mailer, email: string): Promise<void> {
  const login = await findLoginByEmail(deps.db, email);
  if (!login) return;
  const org = await loadOrg(deps, login.orgId);
  const member = org.members.find((m) => m.memberId === login.memberId);
  if (!member) return;
  const invite = await createInvite(
    deps.db,
    { orgId: login.orgId, memberId: member.memberId, email: login.email, role: member.role, ttlMs: RESET_TTL_MS },
    deps.clock(),
  );
  await mailer.send({
    to: login.email,
    subject: `Choose a new CallSnare password for ${org.name}`,
    text: [
      'Someone (we hope you) asked to reset your CallSnare password.',
      `Choose a new one here (works once, for 1 hour): ${appOrigin(deps.config)}/app/invite/${invite.token}`,
      'If it was not you, ignore this email: your password stays as it is.',
    ].join('\n'),
  });
}

/**
 * Removes a member (MemberRemoved; only an owner removes an owner, the last owner stays) and ends at once
 * everything that let them in: their sessions, open invite links and sign-in, and (through the credentials
 * read model, caught up before this returns) their member tokens.
 */
export async function removeMemberEverywhere(
  deps: RemoveDeps,
  caller: CommandCaller,
  input: { orgId: string; memberId: string; byRole: MemberRole | 'operator' },
) {
  const { org, position } = await removeMember(deps, caller, input);
  const now = deps.clock();
  const sessions = await revokeMemberSessions(deps.db, input.memberId, now);
  await endOpenInvites(webDb(deps.db), input.memberId, now);
  await deleteLogin(deps.db, input.memberId);
  await catchUpCredentials(deps, position);
  await announceAccessChanged(deps.db);
  return { org, position, sessions };
}

/**
 * Changes a member's role (MemberRoleChanged; the domain checks the target's current role: only an owner
 * changes an owner's role or makes an owner, the last owner stays) and brings the read models that
 * authentication reads (orgs for sessions, credentials for member tokens) up to the change before it
 * returns: the person's very next request, in any process, is judged by the new role.
 */
export async function changeRoleEverywhere(
  deps: RemoveDeps,
  caller: CommandCaller,
  input: { orgId: string; memberId: string; role: MemberRole; byRole: MemberRole | 'operator' },
) {
  const changed = await changeMemberRole(deps, caller, input);
  if (changed.position) {
    await catchUp(deps, projector(orgsProjection), { until: changed.position });
    await catchUpCredentials(deps, changed.position);
    await announceAccessChanged(deps.db);
  }
  return changed;
}

/** Ends every session of another member (an admin's "sign this person out"); only an owner acts on an owner. */
export async function endSessionsOf(deps: Deps, input: { orgId: string; memberId: string; byRole: MemberRole | 'operator' }) {
  const org = await loadOrg(deps, input.orgId);
  const member = org.members.find((m) => m.memberId === input.memberId);
  if (!member) return undefined;
  if (!mayActOn(input.byRole, member.role)) throw new TargetRoleError("only an owner acts on an owner's account");
  return revokeMemberSessions(deps.db, input.memberId, deps.clock());
}
