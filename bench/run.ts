// `npm run bench [-- NAME ...] [--quick] [--force]`: runs the benchmarks one after another on one freshly
// recreated database, prints a table and issue 13's target table, and writes bench/results/<YYYY-MM-DD>.json.
//
//   npm run bench                      every benchmark (≤ 15 minutes on 2 cores)
//   npm run bench -- append            only the named ones: append, http-create, list-bookings,
//                                      webhook, automation, outbound-webhooks, rebuild, startup
//   npm run bench -- --quick           short durations and small data (3 rounds still); prints, writes nothing
//   npm run bench -- --force           write the result file even though the machine was busy
//   npm run bench -- --database=NAME   bench database name (default callsnare_bench; recreated)
//   npm run bench -- scale --scale-events=200000
//                                      the scale round (issue 26) on fewer than its 10 M events, for a trial
//   npm run bench -- http-create --profile
//                                      the service's processes run under Node's CPU profiler; each
//                                      benchmark's profiles (bench/profiles/<date and time>/<name>/) are summed
//                                      up (bench/profile.ts) and printed; no result file is written
//                                      (the profiler costs throughput)
//
// The scale round seeds 10 M events and runs create / list / webhook / rebuild again on them: on 2 cores
// it takes far longer than the rest (tens of minutes).
//
// Every repeated figure runs ROUNDS rounds (median and range). The 1-minute load average is recorded
// before each measured run; when it was above the core count as the bench began, the machine was busy
// and the result file is not written unless --force.
//
// automation and rebuild each work in fresh databases of their own beside the bench database (on the
// same server), dropped when they finish.
import os from 'node:os';
import { loadConfig } from '../src/config.ts';
import { appendBench } from './append.ts';
import { automationBench } from './automation.ts';
import { outboundWebhooksBench } from './outbound-webhooks.ts';
import type { Benchmark, Section } from './common.ts';
import { httpCreateBench } from './http-create.ts';
import { listBookingsBench } from './list-bookings.ts';
import { rebuildBench } from './rebuild.ts';
import { scaleBench } from './scale.ts';
import { startupBench } from './startup.ts';
import { webhookBench } from './webhook.ts';
import { environment, formatIssue26, formatTable, formatTargets, writeResults } from './report.ts';
import { openBenchDatabase } from './setup.ts';
import { formatProfile, summariseProfiles } from './profile.ts';
import { ensureBuilt, profileInto } from './processes.ts';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: Record<string, Benchmark> = {
  append: appendBench,
  'http-create': httpCreateBench,
  'list-bookings': listBookingsBench,
  webhook: webhookBench,
  automation: automationBench,
  'outbound-webhooks': outboundWebhooksBench,
  rebuild: rebuildBench,
  startup: startupBench,
  scale: scaleBench,
};

const ROUNDS = 3;

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const force = args.includes('--force');
  const profile = args.includes('--profile');
  const cores = os.cpus().length;
  const names = args.filter((a) => !a.startsWith('--'));
  const databaseName = args.find((a) => a.startsWith('--database='))?.slice('--database='.length);
  const scaleArg = args.find((a) => a.startsWith('--scale-events='))?.slice('--scale-events='.length);
  const scaleEvents = scaleArg === undefined ? undefined : Number(scaleArg);
  if (scaleEvents !== undefined && !(Number.isSafeInteger(scaleEvents) && scaleEvents >= 1000)) {
    process.stderr.write(`--scale-events must be a whole number of at least 1000, got ${scaleArg}\n`);
    return 2;
  }
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length || args.includes('--help')) {
    if (unknown.length) process.stderr.write(`unknown benchmark: ${unknown.join(', ')}\n`);
    process.stderr.write(
      `usage: npm run bench [-- ${Object.keys(BENCHMARKS).join('|')} ...] [--quick] [--force] [--profile] [--scale-events=N] [--database=NAME]\n`,
    );
    return unknown.length ? 2 : 0;
  }
  const selected = names.length ? Object.keys(BENCHMARKS).filter((n) => names.includes(n)) : Object.keys(BENCHMARKS);
  const full = selected.length === Object.keys(BENCHMARKS).length;

  const loadAtStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const config = loadConfig();
  const startedAt = new Date();
  log(`database: ${config.DATABASE_URL ? 'DATABASE_URL server' : 'embedded PostgreSQL in .data/bench'}`);
  // Every `callsnare` process a benchmark starts runs the bundle, as `npm ci` leaves it (bench/processes.ts).
  ensureBuilt(log);
  const db = await openBenchDatabase(config, log, databaseName || undefined);
  const env = environment(db);
  log(`PostgreSQL ${db.serverVersion}, database ${db.database}; ${env.cpus} CPUs, Node ${env.node}${quick ? '; QUICK mode' : ''}`);

  const sections: Section[] = [];
  const profiles: string[] = [];
  const profileRoot = fileURLToPath(new URL(`profiles/${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}/`, import.meta.url));
  let failed = 0;
  let refused = false;
  try {
    for (const name of selected) {
      const start = performance.now();
      const sectionStart = new Date().toISOString();
      const loadStart = os.loadavg()[0]!;
      const loadBeforeRuns: { what: string; load: number }[] = [];
      const loadBefore = (what: string) => {
        const load = Math.round(os.loadavg()[0]! * 100) / 100;
        loadBeforeRuns.push({ what, load });
        if (load > cores) log(`load average ${load} > ${cores} cores before ${what} (recorded with the figure)`);
        return load;
      };
      log(`── ${name} (load average ${loadStart.toFixed(2)})`);
      profileInto(profile ? `${profileRoot}${name}` : undefined);
      try {
        const result = await BENCHMARKS[name]!({
          url: db.url,
          quick,
          log,
          rounds: ROUNDS,
          loadBefore,
          ...(scaleEvents !== undefined && { scaleEvents }),
        });
        const loadAvg = { start: Math.round(loadStart * 100) / 100, end: Math.round(os.loadavg()[0]! * 100) / 100 };
        const section: Section = {
          name,
          startedAt: sectionStart,
          elapsedSec: (performance.now() - start) / 1000,
          loadAvg,
          loadBeforeRuns,
          ...result,
        };
        sections.push(section);
        log(`${name} done in ${section.elapsedSec.toFixed(1)} s`);
        const summary = profile ? summariseProfiles(`${profileRoot}${name}`) : undefined;
        if (summary) profiles.push(formatProfile(name, summary));
      } catch (error) {
        failed++;
        log(`${name} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  } finally {
    await db.close();
  }

  process.stdout.write(`\n${formatTable(sections, env)}\n`);
  process.stdout.write(`\n${formatTargets(sections, quick)}\n`);
  process.stdout.write(`\n${formatIssue26(sections, quick)}\n`);
  for (const text of profiles) process.stdout.write(`\n${text}\n`);
  if (profile) log(`CPU profiles in ${profileRoot} (open one in Chrome DevTools' Performance panel)`);
  // Busy means other work on the machine: the load when the bench began. Later 1-minute averages also
  // carry the bench's own previous run (on 2 cores a loaded server, PostgreSQL and autocannon lift it
  // past the core count by themselves), so they are recorded beside each figure, not used as a gate.
  const busy = loadAtStart > cores ? [{ what: 'the bench started', load: loadAtStart }] : [];
  if (quick || profile) {
    log(`${quick ? 'quick mode' : 'profiled run'}: results not written`);
  } else if (busy.length && !force) {
    log(
      `results not written: the load average was ${busy[0]!.load}, above ${cores} (the core count), when ${busy[0]!.what}; rerun on a quiet machine, or pass --force`,
    );
    refused = true;
  } else if (sections.length) {
    const file = await writeResults(sections, env, full && failed === 0, startedAt);
    log(`wrote ${file}`);
  }
  log(`total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s${failed ? `, ${failed} benchmark(s) failed` : ''}`);
  return failed ? 1 : refused ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
