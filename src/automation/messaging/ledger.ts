import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withSecondConnection } from '../../db/second-connection.ts';
import { DeliveryUnknownError, LeaseLostError, type OutboundMessage, type SendGuard, type SendLease, type SentMessage } from './port.ts';

/**
 * `outbound_messages`: one row per job key, the fence of every send. Before a message goes out its row is
 * inserted, in one statement that also checks the worker pool still holds the job (`locked_by`): a worker
 * whose jobs were reclaimed cannot start a send, and a job run again finds the row and never sends twice.
 * The log adapter inserts the row as `sent` (that is its send); Twilio's is `sending` until Twilio answers.
 */
export class OutboundLedger {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records the intent to send `message` under `lease` (or, with `sent`, the send itself). Returns
   * `claimed`, or the message already sent under this key. Throws {@link LeaseLostError} when the pool
   * no longer holds the job, {@link DeliveryUnknownError} when an earlier send's outcome is unknown;
   * whatever `guard` throws (it runs first, in the transaction that records the intent).
   */
  async claim(
    message: OutboundMessage,
    provider: 'log' | 'twilio',
    lease: SendLease | undefined,
    sent?: { messageId: string; sentAt: string },
    guard?: SendGuard,
  ): Promise<{ claimed: true } | { existing: SentMessage }> {
    const leaseHeld = lease
      ? sql<boolean>`exists (select 1 from graphile_worker.jobs j where j.id = ${lease.jobId}::bigint and j.locked_by = ${lease.holder})`
      : sql<boolean>`true`;
    const insert = (db: Kysely<Database>) =>
      sql<{ job_key: string }>`
      insert into outbound_messages (job_key, message_id, org_id, provider, kind, "to", "from", body, subject, sent_at, state, job_id, holder)
      select ${message.key}, ${sent?.messageId ?? null}, ${message.orgId}::uuid, ${provider}, ${message.kind}, ${message.to}, ${message.from ?? null},
             ${message.body}, ${message.subject}, ${sent?.sentAt ?? null}::timestamptz, ${sent ? 'sent' : 'sending'},
             ${lease?.jobId ?? null}::bigint, ${lease?.holder ?? null}
       where ${leaseHeld}
      -- No conflict target: the log adapter's message id derives from the job key, and two racing inserts
      -- of one key may collide on that unique index first, which a (job_key) target would not absorb.
      on conflict do nothing
      returning job_key`.execute(db);
    // The guard and the intent in one transaction: what the guard locked stays locked until the intent is recorded.
    const { rows } = guard
      ? await withSecondConnection(() =>
          this.db.transaction().execute(async (trx) => {
            await guard(trx);
            return insert(trx);
          }),
        )
      : await insert(this.db);
    if (rows.length) return { claimed: true };
    const row = await this.db
      .updateTable('outbound_messages')
      .set({ requests: sql`requests + 1` })
      .where('job_key', '=', message.key)
      .returning(['message_id', 'sent_at', 'state', 'holder'])
      .executeTakeFirst();
    if (!row)
      throw new LeaseLostError(`worker ${lease?.holder ?? '?'} no longer holds job ${lease?.jobId ?? '?'}; not sending ${message.key}`);
    if (row.state === 'sent')
      return { existing: { messageId: row.message_id!, sentAt: new Date(row.sent_at!).toISOString(), duplicate: true } };
    throw new DeliveryUnknownError(
      `delivery unknown: an earlier send of ${message.key} (worker ${row.holder ?? '?'}) lost its lease before Twilio answered; not sent again to avoid a duplicate`,
    );
  }

  /** The provider took the message: the intent becomes the sent message. */
  async complete(key: string, messageId: string, sentAt: string): Promise<SentMessage> {
    await this.db
      .updateTable('outbound_messages')
      .set({ state: 'sent', message_id: messageId, sent_at: sentAt })
      .where('job_key', '=', key)
      .where('state', '=', 'sending')
      .execute();
    return { messageId, sentAt, duplicate: false };
  }

  /** The provider certainly did not take it: the intent is withdrawn so a retry may send. */
  async abandon(key: string): Promise<void> {
    await this.db.deleteFrom('outbound_messages').where('job_key', '=', key).where('state', '=', 'sending').execute();
  }
}
