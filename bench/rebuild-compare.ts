// Side-by-side rebuild timing on one seeded database, for profiling and before/after figures:
//
//   DATABASE_URL=... npx tsx bench/rebuild-compare.ts [--events 200000] [--rounds 2] [--batch-size 5000] [--before DIR] [--keep]
//
// Seeds database <DATABASE_URL's database>_rebuild_cmp with `--events` BookingCreated events as bench/rebuild.ts
// does (reused when it already holds exactly that many), then rebuilds the bookings projection with this
// tree's code and, with `--before DIR` (a copy of another revision's `src`, e.g. `git archive main src`),
// with that code too, alternating, `--rounds` times. `--keep` leaves the database for the next run
// (`node --cpu-prof --import tsx bench/rebuild-compare.ts --keep` then profiles only the rebuild).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/kysely.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { seedBookingEvents } from './rebuild.ts';
import { openScratchDatabase } from './setup.ts';

/** Suffix of the seeded database's name (openScratchDatabase names it `<DATABASE_URL's database>_<suffix>`). */
const SUFFIX = 'rebuild_cmp';

interface Code {
  readonly label: string;
  readonly rebuild: (
    deps: { db: unknown; pool: unknown; store: unknown },
    projection: unknown,
    options: object,
  ) => Promise<{ events: number }>;
  readonly bookings: unknown;
}

async function load(label: string, src: string): Promise<Code> {
  // Another revision's sources: their types are not this tree's, so they are loaded untyped.
  const rebuild = (await import(path.resolve(src, 'projections/rebuild.ts'))) as { rebuildProjection: Code['rebuild'] };
  const bookings = (await import(path.resolve(src, 'projections/read-models/bookings.ts'))) as { bookingsProjection: Code['bookings'] };
  return { label, rebuild: rebuild.rebuildProjection, bookings: bookings.bookingsProjection };
}

/**
 * CPU seconds used so far by each server backend of this benchmark (by pid), read from /proc: only when
 * the server runs on this machine (empty otherwise). The split node/server says which side to work on.
 */
async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database() and application_name = 'bench-rebuild-compare'`,
  );
  const ticks = 100; // USER_HZ on Linux
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 13) cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks);
  }
  return cpu;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '1' },
      before: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: '5000' },
    },
  });
  const total = Number(values.events);
  const log = (m: string) => process.stderr.write(`[rebuild-compare ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  const url = loadConfig().DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL');
  const DATABASE = `${decodeURIComponent(new URL(url).pathname.slice(1))}_${SUFFIX}`;
  const target = new URL(url);
  target.pathname = `/${DATABASE}`;

  let existing = -1;
  const probe = new pg.Client({ connectionString: target.toString() });
  try {
    await probe.connect();
    existing = Number(
      (await probe.query<{ n: string }>(`select count(*) as n from es_events where event_type = 'BookingCreated'`)).rows[0]!.n,
    );
  } catch {
    existing = -1;
  } finally {
    await probe.end().catch(() => {});
  }
  if (existing !== total) {
    log(`seeding ${total} events into ${DATABASE}`);
    await openScratchDatabase(url, SUFFIX);
    const { db, pool } = createDb({ url: target.toString(), max: 4 });
    const store = new PostgresEventStore({ pool, url: target.toString() });
    await seedBookingEvents({ pool, store, log }, total);
    await store.close();
    await db.destroy();
  }

  const codes = [await load('this tree', path.resolve(import.meta.dirname, '../src'))];
  if (values.before) codes.unshift(await load(`before (${values.before})`, path.resolve(values.before)));
  const { db, pool } = createDb({ url: target.toString(), max: 4, applicationName: 'bench-rebuild-compare' });
  const store = new PostgresEventStore({ pool, url: target.toString() });
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const code of codes) {
        const started = performance.now();
        const cpu = process.cpuUsage();
        const serverBefore = await backendCpu(pool);
        const phases: string[] = [];
        let phase = '';
        const onProgress = (p: { phase: string }) => {
          if (p.phase === phase) return;
          phases.push(`${p.phase} at ${((performance.now() - started) / 1000).toFixed(1)} s`);
          phase = p.phase;
        };
        const result = await code.rebuild({ db, pool, store }, code.bookings, { batchSize: Number(values['batch-size']), onProgress });
        const seconds = (performance.now() - started) / 1000;
        log(`phases: ${phases.join(', ')}`);
        const used = process.cpuUsage(cpu);
        const serverAfter = await backendCpu(pool);
        const server = [...serverAfter].reduce((sum, [pid, s]) => sum + s - (serverBefore.get(pid) ?? 0), 0);
        const rows = Number((await pool.query<{ n: string }>('select count(*) as n from bookings')).rows[0]!.n);
        log(
          `round ${round} ${code.label}: ${result.events} events in ${seconds.toFixed(2)} s = ${Math.round(result.events / seconds)} events/s ` +
            `(${rows} rows; this process used ${((used.user + used.system) / 1e6).toFixed(1)} s of CPU, ` +
            `its server backends ${serverAfter.size ? `${server.toFixed(1)} s` : 'unknown (remote server)'}; load ${os.loadavg()[0]!.toFixed(1)})`,
        );
      }
    }
  } finally {
    await store.close();
    await db.destroy();
    if (!values.keep) {
      const admin = new URL(url);
      admin.pathname = '/postgres';
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`drop database if exists ${DATABASE} with (force)`);
      await client.end();
    }
  }
}

await main();
