// Webhook ingestion: signed Twilio missed-call callbacks (POST /webhooks/twilio/voice, form-encoded,
// X-Twilio-Signature) at 32 connections against the real app (projectors live, as `serve` runs them).
// Every request carries a new CallSid and one of 5,000 caller numbers, so each one is a real ingestion
// (a MissedCallRecorded, plus a LeadOpened the first time a number calls), never a deduplicated retry;
// the bodies are made and signed in the autocannon child (bench/webhook-requests.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { createOrg } from '../src/commands/orgs.ts';
import { waitForCheckpoints } from '../src/subscriptions/engine.ts';
import { openBenchApp, operator } from './app.ts';
import { type Benchmark, type Row, round, since, sleep } from './common.ts';
import { load } from './load.ts';
import { callerNumber, signedVoiceCallback, voiceStatusCallback, type VoiceCallbackOptions } from './webhook-requests.ts';

const CONNECTIONS = 32;
const BUSINESS = '+15125550100';
const CALLERS = 5000;
const PATH = '/webhooks/twilio/voice';
const FACTORY = new URL('./webhook-requests.ts', import.meta.url).href;

export const webhookBench: Benchmark = async (ctx) => {
  const durationSec = ctx.quick ? 3 : 10;
  const warmupSec = ctx.quick ? 1 : 3;
  const env = { PUBLIC_BASE_URL: 'https://hooks.callsnare.bench', TWILIO_AUTH_TOKEN: randomBytes(16).toString('hex') };
  const rows: Row[] = [];
  const figures: Record<string, unknown> = { connections: CONNECTIONS, durationSec, warmupSec, callers: CALLERS, businessNumber: BUSINESS };

  const bench = await openBenchApp(ctx.url, { env });
  try {
    const orgId = randomUUID();
    await createOrg(bench.services, operator(orgId), {
      orgId,
      name: 'Bench Webhook HVAC',
      timezone: 'America/Chicago',
      phones: [BUSINESS],
    });
    await bench.catchUpAll();
    bench.startProjectors();

    const url = `${bench.baseUrl}${PATH}`;
    const factoryOptions: VoiceCallbackOptions = {
      signedUrl: `${env.PUBLIC_BASE_URL}${PATH}`,
      authToken: env.TWILIO_AUTH_TOKEN,
      to: BUSINESS,
      callers: CALLERS,
    };
    const countEvents = async (type: string) =>
      Number(
        (
          await bench.services.pool.query<{ n: string }>('select count(*) as n from es_events where org_id = $1 and event_type = $2', [
            orgId,
            type,
          ])
        ).rows[0]!.n,
      );
    // After a load the server may still be answering requests autocannon stopped waiting for.
    const settledCount = async (type: string) => {
      let last = await countEvents(type);
      for (let i = 0; i < 50; i++) {
        await sleep(200);
        const now = await countEvents(type);
        if (now === last) return now;
        last = now;
      }
      return last;
    };

    // One signed callback is recorded; the same with a wrong signature is refused (so signatures are checked).
    const params = voiceStatusCallback({
      callSid: `CA${randomBytes(16).toString('hex')}`,
      from: callerNumber(0),
      to: BUSINESS,
      status: 'no-answer',
      at: new Date(),
    });
    const signed = signedVoiceCallback(factoryOptions, params);
    const bad = await fetch(url, { method: 'POST', headers: { ...signed.headers, 'x-twilio-signature': 'AAAA' }, body: signed.body });
    if (bad.status !== 403) throw new Error(`a wrongly signed callback answered ${bad.status}, expected 403`);
    const good = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
    const reply = await good.text();
    if (good.status !== 200 || !reply.includes('<Response')) throw new Error(`a signed callback answered ${good.status}: ${reply}`);
    if ((await countEvents('MissedCallRecorded')) !== 1) throw new Error('the signed callback did not record a MissedCallRecorded event');
    figures.requestBodyBytes = Buffer.byteLength(signed.body);

    const factory = { module: FACTORY, options: { ...factoryOptions } };
    ctx.log(`webhook: warm-up ${warmupSec} s at ${CONNECTIONS} connections`);
    await load({ url, connections: CONNECTIONS, durationSec: warmupSec, method: 'POST', factory });

    const before = await settledCount('MissedCallRecorded');
    const leadsBefore = await countEvents('LeadOpened');
    ctx.log(
      `webhook: POST ${PATH} for ${durationSec} s at ${CONNECTIONS} connections (new CallSid each, ${CALLERS} callers, projectors live)`,
    );
    const http = await load({ url, connections: CONNECTIONS, durationSec, method: 'POST', factory });

    const head = await bench.services.store.headPosition();
    const lagStart = performance.now();
    const caughtUp = head ? await waitForCheckpoints(bench.services.db, ['leads', 'lead_timeline'], head, 120_000) : true;
    const catchUpMs = since(lagStart);
    const missedCalls = await settledCount('MissedCallRecorded');
    const recordedDuringRun = missedCalls - before;
    const leadsOpened = (await countEvents('LeadOpened')) - leadsBefore;
    const ok = http.statusCodes['200'] ?? 0;
    const leadRows = Number(
      (await bench.services.pool.query<{ n: string }>('select count(*) as n from leads where org_id = $1', [orgId])).rows[0]!.n,
    );

    rows.push({
      bench: 'webhook',
      case: `POST ${PATH} (signed, new CallSid each), ${CONNECTIONS} connections`,
      value: http.rps,
      unit: 'req/s',
      p50Ms: http.p50Ms,
      p99Ms: http.p99Ms,
      errors: http.non2xx + http.errors,
      note: `${http.non2xx} non-2xx, ${http.errors} conn errors`,
    });
    rows.push({
      bench: 'webhook',
      case: 'MissedCallRecorded events after the run (org total)',
      value: missedCalls,
      unit: 'events',
      note: `${recordedDuringRun} during the run for ${ok} 200s; ${leadsOpened} leads opened`,
    });
    rows.push({
      bench: 'webhook',
      case: 'leads + lead_timeline catch-up after the load',
      value: catchUpMs,
      unit: 'ms',
      note: caughtUp ? 'time for the read models to reach the head' : 'did not catch up within 120 s',
    });
    figures.http = { ...http, rps: round(http.rps, 1) };
    figures.missedCallRecorded = { orgTotalAfterRun: missedCalls, duringRun: recordedDuringRun, ok200DuringRun: ok };
    figures.leadsOpenedDuringRun = leadsOpened;
    figures.leadsRows = leadRows;
    figures.projectionCatchUpMs = round(catchUpMs, 1);
    figures.projectionCaughtUp = caughtUp;
  } finally {
    await bench.close();
  }
  return { title: 'Webhook ingestion: signed Twilio missed-call callbacks', rows, figures };
};
