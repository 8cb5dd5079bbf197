import type { EventOf } from './events/index.ts';
import type { Envelope } from './envelope.ts';
import { NotFoundError, StateConflictError } from './errors.ts';

/** Credential stream name. */
export const credentialStream = (credentialId: string) => `credential-${credentialId}`;

/** A credential: an integration token or a member token, known only by its hash. */
export interface Credential {
  id: string;
  data: EventOf<'CredentialIssued'>['data'];
  revokedAt?: string;
  createdAt: string;
}

export type CredentialState = Credential | null;
export type CredentialEvent = EventOf<'CredentialIssued' | 'CredentialRevoked'>;

export type CredentialCommand =
  | { type: 'IssueCredential'; now: string; data: EventOf<'CredentialIssued'>['data'] }
  | { type: 'RevokeCredential'; now: string; data: { credentialId: string; reason?: string } };

export function decide(command: CredentialCommand, state: CredentialState): CredentialEvent[] {
  switch (command.type) {
    case 'IssueCredential':
      if (state) throw new StateConflictError('credential_exists', 'the credential already exists');
      return [{ type: 'CredentialIssued', data: command.data }];
    case 'RevokeCredential':
      if (!state) throw new NotFoundError('credential not found');
      if (state.revokedAt) return [];
      return [{ type: 'CredentialRevoked', data: command.data }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: CredentialState, event: Envelope<CredentialEvent>): CredentialState {
  switch (event.type) {
    case 'CredentialIssued':
      return { id: event.data.credentialId, data: event.data, createdAt: event.occurredAt };
    case 'CredentialRevoked':
      return state && { ...state, revokedAt: event.occurredAt };
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}
