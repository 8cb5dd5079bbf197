import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.ts';
import { logMessageId } from '../../domain/ids.ts';
import { OutboundLedger } from './ledger.ts';
import type { Messaging } from './port.ts';

/**
 * The default adapter: "sends" by writing the message to `outbound_messages` and the log, which is what
 * a local operator inspects (`select * from outbound_messages order by created_at desc`). Exactly once
 * per job key: the key is the table's primary key, and the row is written only while the worker holds the job.
 */
export function logMessaging(deps: { db: Kysely<Database>; clock: () => Date; log?: Logger }): Messaging {
  const ledger = new OutboundLedger(deps.db);
  return {
    provider: 'log',
    async send(message, options = {}) {
      const messageId = logMessageId(message.key);
      const sentAt = deps.clock().toISOString();
      const claimed = await ledger.claim(message, 'log', options.lease, { messageId, sentAt }, options.guard);
      if ('existing' in claimed) return claimed.existing;
      deps.log?.info(
        { messageId, kind: message.kind, to: message.to, from: message.from, key: message.key, orgId: message.orgId, body: claimed.body },
        'outbound message',
      );
      return { messageId, sentAt, duplicate: false, body: claimed.body };
    },
  };
}
