// Request factory for bench/webhook.ts, loaded by the autocannon child (bench/load-child.ts): every
// request is a Twilio voice status callback for a finished, unanswered inbound call with a new CallSid,
// from one of `callers` numbers (picked at random, so callers recur: first calls open a lead, later
// ones add to it), form-encoded and signed as Twilio signs it (X-Twilio-Signature with the SDK).
import { randomBytes, randomInt } from 'node:crypto';
import twilio from 'twilio';

export interface VoiceCallbackOptions {
  /** PUBLIC_BASE_URL + path: the URL Twilio signs. */
  readonly signedUrl: string;
  readonly authToken: string;
  /** The org's business number. */
  readonly to: string;
  /** Distinct caller numbers to pick from. */
  readonly callers: number;
}

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const STATUSES = ['no-answer', 'no-answer', 'no-answer', 'busy'] as const;

/** The caller number of index `k` (E.164, Austin area code). */
export const callerNumber = (k: number) => `+1512${String(2_000_000 + k)}`;

/** A voice status callback as Twilio posts it (the shape of test/webhooks/fixtures/providers.ts). */
export function voiceStatusCallback(input: {
  callSid: string;
  from: string;
  to: string;
  status: string;
  at: Date;
}): Record<string, string> {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    CallSid: input.callSid,
    CallStatus: input.status,
    Called: input.to,
    CalledCity: 'AUSTIN',
    CalledCountry: 'US',
    CalledState: 'TX',
    CalledZip: '78701',
    Caller: input.from,
    CallerCity: 'AUSTIN',
    CallerCountry: 'US',
    CallerState: 'TX',
    CallerZip: '78702',
    CallDuration: '0',
    CallbackSource: 'call-progress-events',
    Direction: 'inbound',
    Duration: '0',
    From: input.from,
    FromCity: 'AUSTIN',
    FromCountry: 'US',
    FromState: 'TX',
    FromZip: '78702',
    SequenceNumber: '0',
    Timestamp: input.at.toUTCString().replace('GMT', '+0000'),
    To: input.to,
    ToCity: 'AUSTIN',
    ToCountry: 'US',
    ToState: 'TX',
    ToZip: '78701',
  };
}

/** One signed request: the form body and its headers. */
export function signedVoiceCallback(
  options: VoiceCallbackOptions,
  params: Record<string, string>,
): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(options.authToken, options.signedUrl, params),
    },
  };
}

export function requestFactory(raw: Record<string, unknown>): () => { body: string; headers: Record<string, string> } {
  const options = raw as unknown as VoiceCallbackOptions;
  return () =>
    signedVoiceCallback(
      options,
      voiceStatusCallback({
        callSid: `CA${randomBytes(16).toString('hex')}`,
        from: callerNumber(randomInt(options.callers)),
        to: options.to,
        status: STATUSES[randomInt(STATUSES.length)]!,
        at: new Date(),
      }),
    );
}
