import type { CredentialEvent } from '../../domain/credential.ts';
import type { EventOf } from '../../domain/events/index.ts';
import type { Position, RecordedEvent } from '../../eventstore/port.ts';
import { catchUp } from '../../subscriptions/engine.ts';
import type { SubscriberDeps } from '../../subscriptions/subscriber.ts';
import { type Projection, projector } from '../projection.ts';

/**
 * `credentials`: token hashes, scopes and revocation, looked up on every authenticated request. A member's
 * role change (org stream) moves the role of their member tokens, so it holds from the next request on; a
 * member's removal revokes them.
 */
export const credentialsProjection: Projection = {
  name: 'credentials',
  filter: {
    streamPrefixes: ['credential-', 'org-'],
    eventTypes: ['CredentialIssued', 'CredentialRevoked', 'MemberRoleChanged', 'MemberRemoved'],
  },
  tables: ['credentials'],
  async apply(q, events) {
    for (const event of events as RecordedEvent<CredentialEvent | EventOf<'MemberRoleChanged' | 'MemberRemoved'>>[]) {
      switch (event.type) {
        case 'MemberRoleChanged':
          await q
            .updateTable('credentials')
            .set({ role: event.data.to })
            .where('org_id', '=', event.data.orgId)
            .where('member_id', '=', event.data.memberId)
            .where('kind', '=', 'member')
            .execute();
          break;
        case 'MemberRemoved':
          // A removed member's tokens end with them.
          await q
            .updateTable('credentials')
            .set({ revoked_at: event.metadata.occurredAt })
            .where('org_id', '=', event.data.orgId)
            .where('member_id', '=', event.data.memberId)
            .where('kind', '=', 'member')
            .where('revoked_at', 'is', null)
            .execute();
          break;
        case 'CredentialIssued': {
          const d = event.data;
          await q
            .insertInto('credentials')
            .values({
              id: d.credentialId,
              org_id: d.orgId,
              kind: d.kind,
              label: d.label,
              scopes: d.scopes,
              token_hash: d.tokenHash,
              member_id: d.memberId ?? null,
              role: d.role ?? null,
              expires_at: d.expiresAt ?? null,
              created_at: event.metadata.occurredAt,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        }
        case 'CredentialRevoked':
          await q
            .updateTable('credentials')
            .set({ revoked_at: event.metadata.occurredAt })
            .where('id', '=', event.data.credentialId)
            .execute();
          break;
        default: {
          const unknown: never = event;
          throw new Error(`unexpected event ${JSON.stringify(unknown)}`);
        }
      }
    }
  },
};

/**
 * Brings the credentials read model up to `until` (default: the store's head) from this process. Every
 * process authenticates from that table, so once this resolves an issued token works and a revoked one
 * gets 401 everywhere: what issuing and revoking wait for before they answer.
 */
export async function catchUpCredentials(deps: SubscriberDeps, until?: Position | null): Promise<void> {
  await catchUp(deps, projector(credentialsProjection), until === undefined ? {} : { until });
}
