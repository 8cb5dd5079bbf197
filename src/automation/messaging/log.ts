import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { v5 as uuidv5 } from 'uuid';
import type { Database } from '../../db/schema.ts';
import { OutboundLedger } from './ledger.ts';
import type { Messaging } from './port.ts';

const LOG_MESSAGE_NAMESPACE = '8a2e4f61-0c3b-4d7a-b5e9-6f1d2c7a9b30';

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
      const messageId = `LM${uuidv5(message.key, LOG_MESSAGE_NAMESPACE).replace(/-/g, '')}`;
      const sentAt = deps.clock().toISOString();
      const claimed = await ledger.claim(message, 'log', options.lease, { messageId, sentAt });
      if ('existing' in claimed) return claimed.existing;
      deps.log?.info({ messageId, kind: message.kind, to: message.to, from: message.from, key: message.key, orgId: message.orgId, body: message.body }, 'outbound message');
      return { messageId, sentAt, duplicate: false };
    },
  };
}
