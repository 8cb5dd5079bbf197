import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { z } from 'zod';
import type { CommandCaller, CommandDeps } from '../../commands/context.ts';
import { changeConsent } from '../../commands/consent.ts';
import { receiveInboundText, recordMessageStatus, recordMissedCall, requestOutboundText } from '../../commands/leads.ts';
import { loadOrg } from '../../commands/org-reads.ts';
import { settingsOf } from '../../domain/org.ts';
import { intentOfOptOutType, recogniseConsent } from '../../automation/opt-out-recogniser.ts';
import { missedCallStatus } from '../../domain/events/lead.ts';
import { e164 } from '../../domain/values.ts';
import type { Position } from '../../eventstore/port.ts';
import { orgIdByPhone } from '../../queries/orgs.ts';
import { depsOf } from '../plugins/caller.ts';
import { setConsistencyToken } from '../common/consistency.ts';
import { invalidSignature, notConfigured, parsePayload, providerCaller, twiml } from './common.ts';

const sid = z.string().regex(/^[A-Za-z]{2}[0-9a-fA-F]{32}$/, 'must be a Twilio SID such as CA followed by 32 hex digits');
const phone = z.string().min(1).max(64);

/** Voice status callback or `<Dial action>` callback (only the fields we use; Twilio sends many more). */
const voicePayload = z.looseObject({
  CallSid: sid,
  From: phone,
  To: phone,
  CallStatus: z.string().max(40).optional(),
  DialCallStatus: z.string().max(40).optional(),
  Timestamp: z.string().max(100).optional(),
});

/** Inbound message webhook. */
const smsPayload = z.looseObject({
  MessageSid: sid,
  From: phone,
  To: phone,
  Body: z
    .string()
    .default('')
    .transform((body) => body.slice(0, 1600)),
  /** Set when Twilio's Advanced Opt-Out recognised a keyword (and already answered it): STOP, START or HELP. */
  OptOutType: z.string().max(20).optional(),
});

/** Outbound message status callback. */
const messageStatusPayload = z.looseObject({
  MessageSid: sid,
  MessageStatus: z.string().min(1).max(40).optional(),
  SmsStatus: z.string().min(1).max(40).optional(),
  From: phone,
  To: phone,
  ErrorCode: z.string().max(20).optional(),
});

function twilioSettings(request: FastifyRequest): { baseUrl: string; authToken: string } {
  const { PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN } = request.server.services.config;
  if (!PUBLIC_BASE_URL || !TWILIO_AUTH_TOKEN) {
    request.log.error('Twilio webhook refused: PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN must be set to verify X-Twilio-Signature');
    const missing = [!PUBLIC_BASE_URL && 'PUBLIC_BASE_URL', !TWILIO_AUTH_TOKEN && 'TWILIO_AUTH_TOKEN'].filter(Boolean).join(' and ');
    throw notConfigured(
      `Twilio webhooks are not configured on this server: start it with ${missing} set (both PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN are needed)`,
    );
  }
  return { baseUrl: PUBLIC_BASE_URL.replace(/\/+$/, ''), authToken: TWILIO_AUTH_TOKEN };
}

const signatureOf = (request: FastifyRequest) => {
  const header = request.headers['x-twilio-signature'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
};

/** onRequest: no signature, no further work (403 even before the body is parsed). */
async function requireSignatureHeader(request: FastifyRequest): Promise<void> {
  twilioSettings(request);
  if (!signatureOf(request)) throw invalidSignature('X-Twilio-Signature is missing');
}

/**
 * preHandler: `X-Twilio-Signature` must be Twilio's HMAC-SHA1 (auth token) over PUBLIC_BASE_URL + the
 * request path and query, followed by the sorted POST parameters (checked by Twilio's own SDK).
 */
async function verifySignature(request: FastifyRequest): Promise<void> {
  const { baseUrl, authToken } = twilioSettings(request);
  const params = (request.body ?? {}) as Record<string, unknown>;
  if (!twilio.validateRequest(authToken, signatureOf(request)!, `${baseUrl}${request.url}`, params)) {
    request.log.warn({ url: request.url }, 'Twilio webhook with a wrong signature refused');
    throw invalidSignature('X-Twilio-Signature does not match this request');
  }
}

/** The org a business number routes to; undefined (logged) for a number no org claims. */
async function routeTo(request: FastifyRequest, number: string): Promise<string | undefined> {
  const parsed = e164.safeParse(number);
  const orgId = parsed.success ? await orgIdByPhone(request.server.services.db, parsed.data) : undefined;
  if (!orgId) request.log.warn({ number }, 'Twilio webhook for a number no org has; ignored');
  return orgId;
}

/**
 * Records a callback in the org that `ourNumber` routes to and answers empty TwiML; a callback for a number
 * no org claims is acknowledged and dropped (Twilio would only retry it).
 */
async function recordRouted(
  request: FastifyRequest,
  reply: FastifyReply,
  ourNumber: string,
  callbackSid: string,
  record: (deps: CommandDeps, caller: CommandCaller) => Promise<{ readonly position: Position | null } | null | undefined>,
): Promise<FastifyReply> {
  const orgId = await routeTo(request, ourNumber);
  if (orgId) {
    const outcome = await record(depsOf(request), providerCaller(request, orgId, 'twilio', callbackSid));
    if (outcome) setConsistencyToken(reply, outcome.position);
  }
  return twiml(reply);
}

function parseTimestamp(value: string | undefined, fallback: Date): string {
  const ms = value ? Date.parse(value) : Number.NaN;
  return new Date(Number.isNaN(ms) ? fallback : ms).toISOString();
}

/** `/webhooks/twilio/*`: form-encoded, signed; every accepted request answers 200 empty TwiML. */
export async function twilioWebhooks(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  await app.register(formbody);
  app.addHook('onRequest', requireSignatureHeader);
  app.addHook('preHandler', verifySignature);

  app.post('/voice', { schema: { hide: true } }, async (request, reply) => {
    const call = parsePayload(voicePayload, request.body);
    // A <Dial action> callback reports the dialed leg in DialCallStatus; a status callback in CallStatus.
    const status = missedCallStatus.safeParse(call.DialCallStatus ?? call.CallStatus);
    const from = e164.safeParse(call.From);
    if (!status.success || !from.success) return twiml(reply);
    return recordRouted(request, reply, call.To, call.CallSid, (deps, caller) =>
      recordMissedCall(deps, caller, {
        callSid: call.CallSid,
        from: from.data,
        to: call.To,
        callStatus: status.data,
        calledAt: parseTimestamp(call.Timestamp, deps.clock()),
      }),
    );
  });

  app.post('/sms', { schema: { hide: true } }, async (request, reply) => {
    const text = parsePayload(smsPayload, request.body);
    const from = e164.safeParse(text.From);
    if (!from.success) return twiml(reply);
    // Twilio's own verdict (Advanced Opt-Out) is honoured as sent; otherwise the body decides (CONTRACT §8).
    const provider = intentOfOptOutType(text.OptOutType);
    const intent = provider ?? recogniseConsent(text.Body);
    return recordRouted(request, reply, text.To, text.MessageSid, async (deps, caller) => {
      const received = await receiveInboundText(deps, caller, {
        messageSid: text.MessageSid,
        from: from.data,
        to: text.To,
        body: text.Body,
        receivedAt: deps.clock().toISOString(),
        ...(intent.kind === 'possible_opt_out' && { flag: 'possible_opt_out' as const }),
      });
      if (intent.kind === 'help' && !provider && !received.duplicate) {
        // One answer per HELP (its SID names the message); Twilio's Advanced Opt-Out answers it itself otherwise.
        const org = await loadOrg(deps, caller.orgId);
        const optOut = settingsOf(org).optOutLine.trim() || 'Reply STOP to opt out.';
        const help = await requestOutboundText(deps, caller, received.lead.id, {
          body: `${org.name}: this number is for your service visits and questions; reply here and our team answers. ${optOut}`,
          clientMessageId: `help:${text.MessageSid}`,
          from: text.To,
        });
        return { position: help.position ?? received.position };
      }
      if (intent.kind !== 'opt_out' && intent.kind !== 'opt_in') return received;
      const consent = await changeConsent(
        { ...deps, db: request.server.services.db },
        caller,
        {
          type: intent.kind === 'opt_out' ? 'OptOut' : 'OptIn',
          data: {
            phone: from.data,
            source: provider ? 'provider' : intent.kind === 'opt_out' ? intent.source : 'keyword',
            evidence: { messageSid: text.MessageSid, body: text.Body, by: from.data },
          },
        },
        `twilio-message\n${text.MessageSid}`,
      );
      request.log.info(
        { orgId: caller.orgId, messageSid: text.MessageSid, consent: consent.consent?.status },
        'consent recorded from an inbound text',
      );
      return { position: consent.position ?? received.position };
    });
  });

  app.post('/message-status', { schema: { hide: true } }, async (request, reply) => {
    const report = parsePayload(messageStatusPayload, request.body);
    const status = report.MessageStatus ?? report.SmsStatus;
    const to = e164.safeParse(report.To);
    if (!status || !to.success) return twiml(reply);
    // Our outbound message: From is the org's number, To the customer.
    return recordRouted(request, reply, report.From, report.MessageSid, (deps, caller) =>
      recordMessageStatus(deps, caller, {
        messageSid: report.MessageSid,
        to: to.data,
        status,
        ...(report.ErrorCode && { errorCode: report.ErrorCode }),
      }),
    );
  });
}
