import { Webhook } from 'standardwebhooks';

/**
 * The Standard Webhooks headers of one message, signed by the spec's own library: `webhook-signature`
 * holds one `v1,<base64>` signature per secret (space-separated), so during a rotation a receiver holding
 * either secret verifies it.
 */
export function signedHeaders(messageId: string, timestamp: Date, body: string, secrets: readonly string[]): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body)).join(' '),
  };
}
