import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { OutboundMessage, SentMessage } from './port.ts';

/**
 * `outbound_messages`: one row per job key. Both adapters look here before sending and record here
 * after, so a job retried after its message went out (a crash before the evidence event, a lost lock)
 * returns the message already sent instead of texting the customer again.
 */
export class OutboundLedger {
  constructor(private readonly db: Kysely<Database>) {}

  /** The message already sent under this key, if any (counting the request). */
  async find(key: string): Promise<SentMessage | undefined> {
    const row = await this.db
      .updateTable('outbound_messages')
      .set({ requests: sql`requests + 1` })
      .where('job_key', '=', key)
      .returning(['message_id', 'sent_at'])
      .executeTakeFirst();
    return row && { messageId: row.message_id, sentAt: new Date(row.sent_at).toISOString(), duplicate: true };
  }

  /** Records a sent message; if the key is already there, keeps the first and returns it. */
  async record(message: OutboundMessage, provider: 'log' | 'twilio', messageId: string, sentAt: string): Promise<SentMessage> {
    const row = await this.db
      .insertInto('outbound_messages')
      .values({
        job_key: message.key,
        message_id: messageId,
        org_id: message.orgId,
        provider,
        kind: message.kind,
        to: message.to,
        from: message.from ?? null,
        body: message.body,
        subject: message.subject,
        sent_at: sentAt,
      })
      .onConflict((c) => c.column('job_key').doUpdateSet({ requests: sql`outbound_messages.requests + 1` }))
      .returning(['message_id', 'sent_at', sql<boolean>`(xmax = 0)`.as('inserted')])
      .executeTakeFirstOrThrow();
    return { messageId: row.message_id, sentAt: new Date(row.sent_at).toISOString(), duplicate: !row.inserted };
  }
}
