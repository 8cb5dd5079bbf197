// Event append: this project's PostgresEventStore.append vs emmett-postgresql's appendToStream,
// same database, same pool size, 1 and 16 concurrent writers, 1 event per append.
//
// Each writer appends to its own streams, a new stream every 10 events, with the expected revision
// each store understands (ours: no_stream then the exact revision; emmett: STREAM_DOES_NOT_EXIST then
// the returned next expected version). The stores take turns in short rounds (order alternating),
// so drift in the machine or the database (checkpoints, autovacuum) hits both alike.
import { randomUUID } from 'node:crypto';
import { createPool } from '../src/db/kysely.ts';
import type { EventToAppend } from '../src/eventstore/port.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { type Benchmark, type Row, Samples, round, since } from './common.ts';
import { type EmmettExpectedVersion, ensureEmmettInstalled, openEmmett } from './emmett.ts';

const EVENTS_PER_STREAM = 10;
const POOL_SIZE = 20;
const WRITER_COUNTS = [1, 16] as const;

type StoreName = 'ours' | 'emmett';

/** A writer loop: appends until the deadline, one event per append. */
type WriterLoop = (deadline: number, samples: Samples) => Promise<{ events: number; errors: number }>;

/** The event both stores append: a valid catalog event with full metadata. */
function phoneEvent(orgId: string, n: number): EventToAppend {
  const id = randomUUID();
  return {
    id,
    type: 'OrgPhoneAdded',
    data: { orgId, phone: `+1512555${String(n % 10_000).padStart(4, '0')}` },
    metadata: {
      orgId,
      actor: { type: 'system', id: 'bench', label: 'bench' },
      correlationId: id,
      causationId: id,
      occurredAt: new Date().toISOString(),
    },
  };
}

export const appendBench: Benchmark = async (ctx) => {
  ensureEmmettInstalled(ctx.log);
  // 10 s per store and writer count, in 4 alternating rounds: short turns even out a machine whose
  // load moves (other processes) between the two stores.
  const roundSec = ctx.quick ? 1 : 2.5;
  const rounds = ctx.quick ? 2 : 4;

  const ourPool = createPool({ url: ctx.url, max: POOL_SIZE, applicationName: 'bench-append-ours' });
  const ours = new PostgresEventStore({ pool: ourPool, url: ctx.url });
  const emmett = openEmmett(ctx.url, POOL_SIZE);
  try {
    ctx.log(`append: emmett ${emmett.version} schema migration`);
    await emmett.store.schema.migrate();

    const loops: Record<StoreName, () => WriterLoop> = {
      ours: () => async (deadline, samples) => {
        const orgId = randomUUID();
        let stream = '';
        let revision = -1;
        let events = 0;
        let errors = 0;
        for (let n = 0; performance.now() < deadline; n++) {
          if (n % EVENTS_PER_STREAM === 0) {
            stream = `benchappend-${randomUUID()}`;
            revision = -1;
          }
          const event = phoneEvent(orgId, n);
          const start = performance.now();
          try {
            const result = await ours.append(stream, [event], { expectedRevision: revision === -1 ? 'no_stream' : revision });
            revision = result.nextRevision;
            events++;
          } catch (error) {
            if (errors++ === 0) ctx.log(`append: ours failed: ${(error as Error).message}`);
            n = EVENTS_PER_STREAM - 1; // next iteration starts a fresh stream
          }
          samples.push(since(start));
        }
        return { events, errors };
      },
      emmett: () => async (deadline, samples) => {
        const orgId = randomUUID();
        let stream = '';
        let expected: EmmettExpectedVersion = 'STREAM_DOES_NOT_EXIST';
        let events = 0;
        let errors = 0;
        for (let n = 0; performance.now() < deadline; n++) {
          if (n % EVENTS_PER_STREAM === 0) {
            stream = `benchappend-${randomUUID()}`;
            expected = 'STREAM_DOES_NOT_EXIST';
          }
          const event = phoneEvent(orgId, n);
          const start = performance.now();
          try {
            const result = await emmett.store.appendToStream(stream, [{ type: event.type, data: event.data, metadata: event.metadata }], {
              expectedStreamVersion: expected,
            });
            expected = result.nextExpectedStreamVersion;
            events++;
          } catch (error) {
            if (errors++ === 0) ctx.log(`append: emmett failed: ${(error as Error).message}`);
            n = EVENTS_PER_STREAM - 1;
          }
          samples.push(since(start));
        }
        return { events, errors };
      },
    };

    const runRound = async (store: StoreName, writers: number, seconds: number, samples: Samples) => {
      const start = performance.now();
      const deadline = start + seconds * 1000;
      const results = await Promise.all(Array.from({ length: writers }, () => loops[store]()(deadline, samples)));
      return {
        events: results.reduce((s, r) => s + r.events, 0),
        errors: results.reduce((s, r) => s + r.errors, 0),
        elapsedMs: since(start),
      };
    };

    ctx.log('append: warm-up (1 s each store, 4 writers)');
    for (const store of ['ours', 'emmett'] as const) await runRound(store, 4, 1, new Samples());

    const rows: Row[] = [];
    const figures: Record<string, unknown> = {
      emmettVersion: emmett.version,
      poolSizeEach: POOL_SIZE,
      eventsPerStream: EVENTS_PER_STREAM,
      secondsPerStorePerWriterCount: roundSec * rounds,
      rounds,
    };
    for (const writers of WRITER_COUNTS) {
      const totals: Record<StoreName, { events: number; errors: number; elapsedMs: number; samples: Samples; perRound: number[] }> = {
        ours: { events: 0, errors: 0, elapsedMs: 0, samples: new Samples(), perRound: [] },
        emmett: { events: 0, errors: 0, elapsedMs: 0, samples: new Samples(), perRound: [] },
      };
      for (let r = 0; r < rounds; r++) {
        const order: StoreName[] = r % 2 === 0 ? ['ours', 'emmett'] : ['emmett', 'ours'];
        for (const store of order) {
          ctx.log(`append: ${store}, ${writers} writer(s), round ${r + 1}/${rounds} (${roundSec} s)`);
          const result = await runRound(store, writers, roundSec, totals[store].samples);
          const t = totals[store];
          t.events += result.events;
          t.errors += result.errors;
          t.elapsedMs += result.elapsedMs;
          t.perRound.push(round(result.events / (result.elapsedMs / 1000), 1));
        }
      }
      const rate = (s: StoreName) => totals[s].events / (totals[s].elapsedMs / 1000);
      const label = `${writers} writer${writers === 1 ? '' : 's'}`;
      for (const store of ['ours', 'emmett'] as const) {
        const t = totals[store];
        rows.push({
          bench: 'append',
          case: `${store === 'ours' ? 'ours (PostgresEventStore)' : `emmett-postgresql ${emmett.version}`}, ${label}`,
          value: rate(store),
          unit: 'events/s',
          p50Ms: t.samples.percentile(50),
          p99Ms: t.samples.percentile(99),
          errors: t.errors,
        });
        figures[`${store}_${writers}`] = {
          eventsPerSec: round(rate(store), 1),
          events: t.events,
          errors: t.errors,
          seconds: round(t.elapsedMs / 1000, 2),
          perRoundEventsPerSec: t.perRound,
          latencyMs: { p50: round(t.samples.percentile(50), 3), p99: round(t.samples.percentile(99), 3), mean: round(t.samples.mean(), 3) },
        };
      }
      const ratio = rate('ours') / rate('emmett');
      rows.push({ bench: 'append', case: `ratio ours/emmett, ${label}`, value: ratio, unit: '×' });
      figures[`ratio_${writers}`] = round(ratio, 3);
    }
    return { title: 'Event append (1 event per append)', rows, figures };
  } finally {
    await emmett.close();
    await ours.close();
    await ourPool.end();
  }
};
