import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/schema.ts';
import { logMessaging } from './log.ts';
import type { Messaging } from './port.ts';
import { TwilioClient, twilioMessaging } from './twilio.ts';

export * from './port.ts';
export { logMessaging } from './log.ts';
export { TwilioClient, twilioMessaging } from './twilio.ts';

/** Path of the delivery-report webhook (CONTRACT §4). */
export const MESSAGE_STATUS_PATH = '/webhooks/twilio/message-status';

/** The adapter chosen by `MESSAGING` (log by default; twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN). */
export function createMessaging(config: Config, deps: { db: Kysely<Database>; clock: () => Date; log?: Logger }): Messaging {
  if (config.MESSAGING === 'twilio') {
    if (!config.PUBLIC_BASE_URL) deps.log?.warn('PUBLIC_BASE_URL is not set: Twilio will not report delivery (no StatusCallback)');
    const client = new TwilioClient({
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      baseUrl: config.TWILIO_API_BASE_URL,
      ...(config.PUBLIC_BASE_URL && { statusCallbackUrl: `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}${MESSAGE_STATUS_PATH}` }),
    });
    return twilioMessaging({ ...deps, client });
  }
  return logMessaging(deps);
}
