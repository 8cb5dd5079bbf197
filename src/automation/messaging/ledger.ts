import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withSecondConnection } from '../../db/second-connection.ts';
import {
  DeliveryUnknownError,
  LeaseLostError,
  type OutboundMessage,
  type SendGuard,
  type SendLease,
  type SentMessage,
  withOptOutLine,
} from './port.ts';

/**
 * `outbound_messages`: one row per job key, the fence of every send. Before a message goes out its row is
 * inserted, in one statement that also checks the worker pool still holds the job (`locked_by`): a worker
 * whose jobs were reclaimed cannot start a send, and a job run again finds the row and never sends twice.
 * The log adapter inserts the row as `sent` (that is its send); Twilio's is `sending` until Twilio answers.
 *
 * The row also tells whether the org has texted a number before: a message with an `optOutLine` takes an
 * exclusive lock per (org, number) in the transaction that records its intent and ends with the line only
 * when no other automated text of the org to that number is recorded. Racing first texts are serial there:
 * the first carries the line and the next sees its row.
 */
export class OutboundLedger {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records the intent to send `message` under `lease` (or, with `sent`, the send itself). Returns
   * `claimed`, or the message already sent under this key. Throws {@link LeaseLostError} when the pool
   * no longer holds the job, {@link DeliveryUnknownError} when an earlier send's outcome is unknown;
   * whatever `guard` throws (it runs first, in the transaction that records the intent). `body` is the
   * text to send: the message's, with its opt-out line when it is the first automated text to the number.
   */
  async claim(
    message: OutboundMessage,
    provider: 'log' | 'twilio',
    lease: SendLease | undefined,
    sent?: { messageId: string; sentAt: string },
    guard?: SendGuard,
  ): Promise<{ claimed: true; body: string } | { existing: SentMessage }> {
    const leaseHeld = lease
      ? sql<boolean>`exists (select 1 from graphile_worker.jobs j where j.id = ${lease.jobId}::bigint and j.locked_by = ${lease.holder})`
      : sql<boolean>`true`;
    const insert = (db: Kysely<Database>, body: string) =>
      sql<{ job_key: string }>`
      insert into outbound_messages (job_key, message_id, org_id, provider, kind, "to", "from", body, subject, sent_at, state, job_id, holder)
      select ${message.key}, ${sent?.messageId ?? null}, ${message.orgId}::uuid, ${provider}, ${message.kind}, ${message.to}, ${message.from ?? null},
             ${body}, ${message.subject}, ${sent?.sentAt ?? null}::timestamptz, ${sent ? 'sent' : 'sending'},
             ${lease?.jobId ?? null}::bigint, ${lease?.holder ?? null}
       where ${leaseHeld}
      -- No conflict target: the log adapter's message id derives from the job key, and two racing inserts
      -- of one key may collide on that unique index first, which a (job_key) target would not absorb.
      on conflict do nothing
      returning job_key`.execute(db);
    // The guard, the first-text check and the intent in one transaction: what they locked stays locked
    // until the intent is recorded.
    const record = async (db: Kysely<Database>) => {
      if (guard) await guard(db);
      const body = message.optOutLine ? await this.withLineIfFirst(db, message, message.optOutLine) : message.body;
      return { rows: (await insert(db, body)).rows, body };
    };
    const { rows, body } =
      guard || message.optOutLine
        ? await withSecondConnection(() => this.db.transaction().execute((trx) => record(trx)))
        : await record(this.db);
    if (rows.length) return { claimed: true, body };
    const row = await this.db
      .updateTable('outbound_messages')
      .set({ requests: sql`requests + 1` })
      .where('job_key', '=', message.key)
      .returning(['message_id', 'sent_at', 'state', 'holder', 'body'])
      .executeTakeFirst();
    if (!row)
      throw new LeaseLostError(`worker ${lease?.holder ?? '?'} no longer holds job ${lease?.jobId ?? '?'}; not sending ${message.key}`);
    if (row.state === 'sent')
      return { existing: { messageId: row.message_id!, sentAt: new Date(row.sent_at!).toISOString(), duplicate: true, body: row.body } };
    throw new DeliveryUnknownError(
      `delivery unknown: an earlier send of ${message.key} (worker ${row.holder ?? '?'}) lost its lease before Twilio answered; not sent again to avoid a duplicate`,
    );
  }

  /**
   * `body` with `line` when the org has no other automated text to the number recorded, under the
   * (org, number) lock held until `trx` ends. A member's reply does not count: the line ends the first
   * automated text (CONTRACT §8). A withdrawn intent (the provider certainly did not take it) does not either.
   */
  private async withLineIfFirst(trx: Kysely<Database>, message: OutboundMessage, line: string): Promise<string> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`first-text\n${message.orgId}\n${message.to}`}, 0))`.execute(trx);
    const earlier = await trx
      .selectFrom('outbound_messages')
      .select('job_key')
      .where('org_id', '=', message.orgId)
      .where('to', '=', message.to)
      .where('kind', '<>', 'reply')
      .where('job_key', '<>', message.key)
      .limit(1)
      .executeTakeFirst();
    return earlier ? message.body : withOptOutLine(message.body, line);
  }

  /** The provider took the message: the intent becomes the sent message. */
  async complete(key: string, messageId: string, sentAt: string, body: string): Promise<SentMessage> {
    await this.db
      .updateTable('outbound_messages')
      .set({ state: 'sent', message_id: messageId, sent_at: sentAt })
      .where('job_key', '=', key)
      .where('state', '=', 'sending')
      .execute();
    return { messageId, sentAt, duplicate: false, body };
  }

  /** The provider certainly did not take it: the intent is withdrawn so a retry may send. */
  async abandon(key: string): Promise<void> {
    await this.db.deleteFrom('outbound_messages').where('job_key', '=', key).where('state', '=', 'sending').execute();
  }
}
