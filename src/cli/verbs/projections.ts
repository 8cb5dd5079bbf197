import type { Command } from 'commander';
import type { Projection } from '../../projections/projection.ts';
import { rebuildProjection, type RebuildProgress } from '../../projections/rebuild.ts';
import { PROJECTIONS, projectionByName } from '../../projections/registry.ts';
import { verifyProjection } from '../../projections/verify.ts';
import { SUBSCRIBERS } from '../../subscribers.ts';
import { subscriberLags } from '../../subscriptions/lag.ts';
import { withServices } from '../context.ts';
import { CliError, emit, NDJSON_HELP, table } from '../output.ts';
import { formatPosition } from '../../eventstore/position.ts';

export function registerProjectionCommands(program: Command): void {
  const projections = program.command('projections').description('read models built from events');

  projections
    .command('status')
    .description('each projection: checkpoint, head position, lag in events and seconds')
    .option('--json', `${NDJSON_HELP}, one per projection`)
    .action(async (opts: { json?: boolean }) => {
      await withServices(async (services) => {
        const head = await services.store.headPosition();
        const rows = (
          await subscriberLags(
            services,
            SUBSCRIBERS.map((s) => s.subscriber),
          )
        ).map((lag) => ({
          name: lag.name,
          checkpoint: lag.checkpoint.position ? formatPosition(lag.checkpoint.position) : null,
          head: head ? formatPosition(head) : null,
          lagEvents: lag.events,
          lagSeconds: lag.seconds,
          eventsHandled: lag.checkpoint.eventsHandled,
          updatedAt: lag.checkpoint.updatedAt.toISOString(),
        }));
        if (opts.json) {
          for (const r of rows) emit(true, r, '');
          return;
        }
        emit(false, null, () =>
          table([
            ['PROJECTION', 'CHECKPOINT', 'HEAD', 'LAG EVENTS', 'LAG SECONDS', 'HANDLED'],
            ...rows.map((r) => [
              r.name,
              r.checkpoint ?? '-',
              r.head ?? '-',
              String(r.lagEvents),
              r.lagSeconds.toFixed(1),
              String(r.eventsHandled),
            ]),
          ]),
        );
      });
    });

  projections
    .command('rebuild [name]')
    .description('rebuild read models from the first event into fresh tables, then swap them in atomically (resumes after a crash)')
    .option('--all', 'every projection')
    .option('--batch-size <n>', 'events per batch', '5000')
    .option('--json', `${NDJSON_HELP}, one per projection`)
    .action(async (name: string | undefined, opts: { all?: boolean; json?: boolean; batchSize: string }) => {
      const selected = selectProjections(name, opts.all);
      const batchSize = Number(opts.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError('--batch-size: must be a positive integer');
      await withServices(async (services) => {
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          for (const projection of selected) {
            const progress = await progressReporter(!!opts.json);
            try {
              const result = await rebuildProjection(services, projection, {
                batchSize,
                onProgress: (p) => progress.update(p),
                signal: controller.signal,
              });
              progress.stop();
              emit(
                !!opts.json,
                result,
                `rebuilt ${result.projection}: ${result.events} events in ${result.seconds.toFixed(1)} s (${Math.round(result.events / Math.max(result.seconds, 0.001))} ev/s)${result.resumed ? ', resumed' : ''}`,
              );
            } catch (error) {
              progress.stop();
              if (controller.signal.aborted)
                throw new CliError(`rebuild of ${projection.name} interrupted; the live model is untouched; run it again to resume`, 130);
              throw error;
            }
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });

  projections
    .command('verify [name]')
    .description('rebuild into a scratch schema and compare with the live read model; exit 1 on any difference')
    .option('--all', 'every projection')
    .option('--json', `${NDJSON_HELP}, one per projection`)
    .action(async (name: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      const selected = selectProjections(name, opts.all);
      await withServices(async (services) => {
        let failed = false;
        for (const projection of selected) {
          const result = await verifyProjection(services, projection);
          failed ||= !result.ok;
          emit(!!opts.json, result, () =>
            [
              `${result.projection}: ${result.ok ? 'OK' : 'DIFFERS'}`,
              ...result.tables.map(
                (t) =>
                  `  ${t.table}: ${t.rows} rows, ${t.missing} missing, ${t.extra} extra, ${t.different} different${t.sample.length ? ` (e.g. ${t.sample.join('; ')})` : ''}`,
              ),
            ].join('\n'),
          );
        }
        if (failed) throw new CliError('read model differs from a clean rebuild', 1);
      });
    });
}

function selectProjections(name: string | undefined, all: boolean | undefined): Projection[] {
  if (all || !name) {
    if (!all && !name) throw new CliError(`name a projection (${PROJECTIONS.map((p) => p.name).join(', ')}) or pass --all`);
    return [...PROJECTIONS];
  }
  const projection = projectionByName(name);
  if (!projection) throw new CliError(`unknown projection ${name} (known: ${PROJECTIONS.map((p) => p.name).join(', ')})`);
  return [projection];
}

/** A progress bar on a TTY (events, events/s, ETA), a plain line every 2 s otherwise. */
async function progressReporter(json: boolean) {
  const started = Date.now();
  if (process.stderr.isTTY && !json) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        format: '{projection} [{bar}] {value}/{total} events | {rate} ev/s | ETA {eta_formatted} | {phase}',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let startedBar = false;
    return {
      update(p: RebuildProgress) {
        const rate = Math.round(p.handled / Math.max(0.001, (Date.now() - started) / 1000));
        if (!startedBar) {
          bar.start(p.total ?? p.handled, p.handled, { projection: p.projection, rate, phase: p.phase });
          startedBar = true;
        }
        if (p.total !== undefined && p.handled > p.total) bar.setTotal(p.handled);
        bar.update(p.handled, { rate, phase: p.phase });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p: RebuildProgress) {
      if (p.phase === 'building' && Date.now() - last < 2000) return;
      last = Date.now();
      const seconds = (Date.now() - started) / 1000;
      const rate = p.handled / Math.max(0.001, seconds);
      const eta = p.total !== undefined && rate > 0 ? Math.max(0, (p.total - p.handled) / rate) : undefined;
      process.stderr.write(
        `${p.projection}: ${p.phase} ${p.handled}${p.total !== undefined ? `/${p.total}` : ''} events, ${Math.round(rate)} ev/s${eta !== undefined ? `, ETA ${eta.toFixed(0)} s` : ''}\n`,
      );
    },
    stop: () => {},
  };
}
