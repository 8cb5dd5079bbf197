import { randomUUID } from 'node:crypto';
import type { Services } from '../services.ts';
import type { CommandCaller } from '../commands/context.ts';
import { addMember, loadOrg } from '../commands/orgs.ts';
import type { MemberRole } from '../domain/events/org.ts';
import type { Position } from '../eventstore/port.ts';
import { createInvite } from './invites.ts';
import { findLoginByEmail, LoginTakenError, upsertLogin } from './logins.ts';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './passwords.ts';

type Deps = Pick<Services, 'store' | 'clock' | 'db' | 'config'>;

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
export function appOrigin(config: Deps['config']): string {
  return (config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/+$/, '');
}

/**
 * Finds the org's member with this email, or adds one with the role (MemberAdded). An email that already
 * signs in to another org is refused before anything is recorded.
 */
export async function ensureMember(deps: Deps, caller: CommandCaller, input: { orgId: string; email: string; role: MemberRole }) {
  const login = await findLoginByEmail(deps.db, input.email);
  if (login && login.orgId !== input.orgId) throw new LoginTakenError(`${input.email} already signs in to another org`);
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

/**
 * Invites a person (adding them as a member if they are not one) and returns the single-use link that
 * lets them choose a password. For an existing member it is a password-reset link.
 */
export async function inviteMember(deps: Deps, caller: CommandCaller, input: { orgId: string; email: string; role: MemberRole }) {
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
