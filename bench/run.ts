// `npm run bench [-- NAME ...] [--quick]`: runs the benchmarks one after another on one freshly
// recreated database, prints a table and writes bench/results/<YYYY-MM-DD>.json.
//
//   npm run bench                      every benchmark (≈ 9 minutes on 2 cores)
//   npm run bench -- append            only the named ones: append, http-create, list-bookings,
//                                      webhook, automation, rebuild
//   npm run bench -- --quick           short durations and small data; prints, writes nothing
//
// automation and rebuild each work in fresh databases of their own beside the bench database (on the
// same server), dropped when they finish.
import os from 'node:os';
import { loadConfig } from '../src/config.ts';
import { appendBench } from './append.ts';
import { automationBench } from './automation.ts';
import type { Benchmark, Section } from './common.ts';
import { httpCreateBench } from './http-create.ts';
import { listBookingsBench } from './list-bookings.ts';
import { rebuildBench } from './rebuild.ts';
import { webhookBench } from './webhook.ts';
import { environment, formatTable, writeResults } from './report.ts';
import { openBenchDatabase } from './setup.ts';

const BENCHMARKS: Record<string, Benchmark> = {
  append: appendBench,
  'http-create': httpCreateBench,
  'list-bookings': listBookingsBench,
  webhook: webhookBench,
  automation: automationBench,
  rebuild: rebuildBench,
};

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length || args.includes('--help')) {
    if (unknown.length) process.stderr.write(`unknown benchmark: ${unknown.join(', ')}\n`);
    process.stderr.write(`usage: npm run bench [-- ${Object.keys(BENCHMARKS).join('|')} ...] [--quick]\n`);
    return unknown.length ? 2 : 0;
  }
  const selected = names.length ? Object.keys(BENCHMARKS).filter((n) => names.includes(n)) : Object.keys(BENCHMARKS);
  const full = selected.length === Object.keys(BENCHMARKS).length;

  const config = loadConfig();
  const startedAt = new Date();
  log(`database: ${config.DATABASE_URL ? 'DATABASE_URL server' : 'embedded PostgreSQL in .data/bench'}`);
  const db = await openBenchDatabase(config, log);
  const env = environment(db);
  log(`PostgreSQL ${db.serverVersion}, database ${db.database}; ${env.cpus} CPUs, Node ${env.node}${quick ? '; QUICK mode' : ''}`);

  const sections: Section[] = [];
  let failed = 0;
  try {
    for (const name of selected) {
      const start = performance.now();
      const sectionStart = new Date().toISOString();
      const loadStart = os.loadavg()[0]!;
      log(`── ${name}`);
      try {
        const result = await BENCHMARKS[name]!({ url: db.url, quick, log });
        const loadAvg = { start: Math.round(loadStart * 100) / 100, end: Math.round(os.loadavg()[0]! * 100) / 100 };
        const section: Section = { name, startedAt: sectionStart, elapsedSec: (performance.now() - start) / 1000, loadAvg, ...result };
        sections.push(section);
        log(`${name} done in ${section.elapsedSec.toFixed(1)} s`);
      } catch (error) {
        failed++;
        log(`${name} FAILED: ${(error as Error)?.stack ?? String(error)}`);
      }
    }
  } finally {
    await db.close();
  }

  process.stdout.write(`\n${formatTable(sections, env)}\n`);
  if (quick) {
    log('quick mode: results not written');
  } else if (sections.length) {
    const file = await writeResults(sections, env, full && failed === 0, startedAt);
    log(`wrote ${file}`);
  }
  log(`total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s${failed ? `, ${failed} benchmark(s) failed` : ''}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
