import { randomUUID } from 'node:crypto';
import { type Credential, type CredentialEvent, type CredentialState, credentialStream, decide, evolve } from '../domain/credential.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { Scope } from '../domain/events/credential.ts';
import type { MemberRole } from '../domain/events/org.ts';
import type { Position } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from '../commands/context.ts';
import { execute, loadStream } from '../commands/execute.ts';
import { loadOrg } from '../commands/org-reads.ts';
import { hashToken, mintToken } from './tokens.ts';

/** A freshly issued credential: the only time the secret exists outside its holder. */
export interface IssuedCredential {
  readonly id: string;
  readonly token: string;
  readonly orgId: string;
  readonly label: string;
  readonly scopes: Scope[];
  readonly kind: 'integration' | 'member';
  readonly position: Position | null;
}

/** Issues an integration token (scopes) or a member token (role) for an existing org. */
export async function issueCredential(
  deps: CommandDeps,
  caller: CommandCaller,
  input: {
    orgId: string;
    label: string;
    kind: 'integration' | 'member';
    scopes?: Scope[];
    memberId?: string;
    role?: MemberRole;
    expiresAt?: string;
  },
): Promise<IssuedCredential> {
  await loadOrg(deps, input.orgId);
  const credentialId = randomUUID();
  const token = mintToken(input.kind);
  const scopes = [...new Set(input.scopes ?? [])];
  const data = {
    credentialId,
    orgId: input.orgId,
    kind: input.kind,
    label: input.label,
    scopes,
    tokenHash: hashToken(token),
    ...(input.memberId && { memberId: input.memberId }),
    ...(input.role && { role: input.role }),
    ...(input.expiresAt && { expiresAt: input.expiresAt }),
  };
  const result = await execute<CredentialState, CredentialEvent>(deps, caller, {
    streamId: credentialStream(credentialId),
    evolve,
    initial: null,
    decide: (loaded, now) => ({ append: decide({ type: 'IssueCredential', now: now.toISOString(), data }, loaded.state) }),
  });
  return {
    id: credentialId,
    token,
    orgId: input.orgId,
    label: input.label,
    scopes,
    kind: input.kind,
    position: result.kind === 'appended' ? result.position : null,
  };
}

/** Loads a credential by id; NotFoundError if absent. */
export async function loadCredential(deps: Pick<CommandDeps, 'store'>, credentialId: string): Promise<Credential> {
  const { state } = await loadStream<CredentialState, CredentialEvent>(deps.store, credentialStream(credentialId), evolve, null);
  if (!state) throw new NotFoundError(`credential ${credentialId} not found`);
  return state;
}

/** Revokes a credential (a second revoke records nothing). */
export async function revokeCredential(
  deps: CommandDeps,
  caller: Omit<CommandCaller, 'orgId'>,
  credentialId: string,
  reason?: string,
): Promise<{ credential: Credential; position: Position | null }> {
  const existing = await loadCredential(deps, credentialId);
  const result = await execute<CredentialState, CredentialEvent>(
    deps,
    { ...caller, orgId: existing.data.orgId },
    {
      streamId: credentialStream(credentialId),
      evolve,
      initial: null,
      decide: (loaded, now) => ({
        append: decide(
          { type: 'RevokeCredential', now: now.toISOString(), data: { credentialId, ...(reason && { reason }) } },
          loaded.state,
        ),
      }),
    },
  );
  if (result.kind !== 'appended' || !result.state) throw new NotFoundError(`credential ${credentialId} not found`);
  return { credential: result.state, position: result.position };
}
