import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** What the automation texts about. */
export type MessageKind = 'confirmation' | 'reminder' | 'rescheduled_notice' | 'canceled_notice' | 'text_back' | 'reply' | 'staff_alert';

/** One outbound text. `key` is the job key: the same key is the same message, sent at most once. */
export interface OutboundMessage {
  readonly key: string;
  readonly orgId: string;
  readonly kind: MessageKind;
  /** E.164 recipient. */
  readonly to: string;
  /** E.164 sender (an org business number); the log adapter accepts none. */
  readonly from?: string;
  readonly body: string;
  /** Stream the message is about: `booking-<id>` or `lead-<id>`. */
  readonly subject: string;
  /**
   * The org's opt-out line (CONTRACT §8), for an automated text: it ends the body when this is the org's
   * first automated text to the number, decided when the intent is recorded, under a lock per (org, number)
   * (see OutboundLedger), so two first texts at once carry it exactly once.
   */
  readonly optOutLine?: string;
}

/** The most a text may hold (Twilio's limit). */
export const MAX_TEXT_LENGTH = 1600;

/** `body` ending with the opt-out line; a body too long for both is shortened, never the line. */
export function withOptOutLine(body: string, line: string): string {
  const suffix = `\n${line}`;
  return `${body.slice(0, MAX_TEXT_LENGTH - suffix.length)}${suffix}`;
}

/** A message the provider accepted (or had already accepted under the same key). */
export interface SentMessage {
  /** Provider message id: Twilio's `SM...` SID, or `LM...` for the log adapter. */
  readonly messageId: string;
  readonly sentAt: string;
  /** True when the key had already been sent and nothing new went out. */
  readonly duplicate: boolean;
  /** The text as sent (with the opt-out line when it was the first automated text to the number). */
  readonly body: string;
}

/**
 * The job a send runs under and the worker pool holding it (graphile-worker's `locked_by`). A send with a
 * lease is made only if, when its intent is recorded, that pool still holds that job (fencing).
 */
export interface SendLease {
  readonly jobId: string;
  readonly holder: string;
}

/**
 * A check run inside the transaction that records a send's intent, just before the row is written: it
 * throws (e.g. {@link RecipientOptedOutError}) to refuse the send. Locks it takes in `trx` are held until
 * the intent is recorded (automation/may-text.ts takes the contact's consent lock).
 */
export type SendGuard = (trx: Kysely<Database>) => Promise<void>;

/** How one send runs: its abort signal, the job lease fencing it, the guard checked with the intent. */
export interface SendOptions {
  readonly signal?: AbortSignal;
  readonly lease?: SendLease;
  readonly guard?: SendGuard;
}

/** The messaging port: `log` (default) and `twilio` adapters implement it. */
export interface Messaging {
  readonly provider: 'log' | 'twilio';
  send(message: OutboundMessage, options?: SendOptions): Promise<SentMessage>;
}

/** The recipient opted out (found at send time, under the consent lock): nothing was sent. */
export class RecipientOptedOutError extends Error {
  override name = 'RecipientOptedOutError';
}

/**
 * A send-time rule other than consent refused the message (a text-back within the caller's cooldown,
 * CONTRACT §10): nothing was sent; the job ends skipped with `reason`, in plain words.
 */
export class SendSkippedError extends Error {
  override name = 'SendSkippedError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** This worker no longer holds the job (its lease was lost and the job reclaimed): nothing was sent. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** The provider refused the message for good (a 4xx other than 429): retrying cannot help. */
export class PermanentMessagingError extends Error {
  override name = 'PermanentMessagingError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * An earlier send of this message recorded its intent and never its outcome (its worker lost the lease
 * mid-send): the customer may have it. It is not sent again; the job records the failure for operators.
 */
export class DeliveryUnknownError extends PermanentMessagingError {
  override name = 'DeliveryUnknownError';
}

/** The provider could not take the message now (429, 5xx, network): the job is retried later. */
export class TransientMessagingError extends Error {
  override name = 'TransientMessagingError';
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    /** The provider certainly did not take it (it answered an error, or no connection was made). */
    readonly notSent = status !== undefined,
  ) {
    super(message);
  }
}
