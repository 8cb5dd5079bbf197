import type { Command } from 'commander';
import { STREAM_FOLDS, foldOf } from '../../domain/stream-folds.ts';
import { eventTypeName } from '../../domain/events/index.ts';
import { summarize } from '../../domain/summary.ts';
import { uuid } from '../../domain/values.ts';
import type { Position } from '../../eventstore/port.ts';
import { formatPosition, parsePosition } from '../../eventstore/position.ts';
import { ChainVerifier } from '../../eventstore/verify-chain.ts';
import { auditActorId, readAuditEvents, streamStateAsOf, toAuditEvent } from '../../queries/audit.ts';
import { requireOrg, withServices } from '../context.ts';
import { CliError, emit, JSON_HELP, NDJSON_HELP, table } from '../output.ts';
import { parseOption } from '../parse.ts';

function parseTime(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new CliError(`${flag}: not a date; use ISO-8601 such as 2026-11-24T09:00:00Z`);
  return new Date(ms);
}

/** Time in the org's zone with the zone's abbreviation, e.g. `2026-11-24 09:30:12 CST`. */
function localTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${get('timeZoneName')}`;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the event timeline: who did what, when, and what the state was');

  audit
    .command('timeline')
    .description("every event of an org in commit order: time in the org's zone, type, actor, stream, summary")
    .requiredOption('--org <id>', 'org id')
    .option('--stream <name>', 'only this stream, e.g. booking-<id>')
    .option('--since <time>', 'only events that occurred at or after this ISO time')
    .option('--until <time>', 'only events that occurred before this ISO time')
    .option('--type <type>', 'only events of this type, e.g. ContactOptedOut')
    .option('--actor <id>', 'only events by this actor id: a member id, a credential id, twilio, automation, ...')
    .option('--json', `${NDJSON_HELP}, one per event`)
    .action(
      async (opts: { org: string; stream?: string; since?: string; until?: string; type?: string; actor?: string; json?: boolean }) => {
        const orgId = parseOption('--org', uuid, opts.org);
        const type = opts.type === undefined ? undefined : parseOption('--type', eventTypeName, opts.type);
        const actor = opts.actor === undefined ? undefined : parseOption('--actor', auditActorId, opts.actor);
        const since = parseTime('--since', opts.since);
        const until = parseTime('--until', opts.until);
        await withServices(async (services) => {
          const { timezone } = await requireOrg(services, orgId);
          const rows: string[][] = [['TIME', 'TYPE', 'ACTOR', 'STREAM', 'SUMMARY']];
          const query = {
            ...(opts.stream && { stream: opts.stream }),
            ...(type && { type }),
            ...(actor && { actor }),
            ...(since && { since: since.toISOString() }),
            ...(until && { until: until.toISOString() }),
            limit: 1000,
          };
          let from: Position | null = null;
          let count = 0;
          do {
            const page = await readAuditEvents(services.store, orgId, { ...query, from });
            for (const event of page.events) {
              count++;
              if (opts.json) emit(true, toAuditEvent(event), '');
              else {
                const actor = event.metadata.actor;
                rows.push([
                  localTime(event.metadata.occurredAt, timezone),
                  event.type,
                  `${actor.type}:${actor.label || actor.id}${event.metadata.via ? ` via ${event.metadata.via}` : ''}`,
                  event.streamId,
                  summarize(event),
                ]);
              }
            }
            from = page.next;
          } while (from);
          if (!opts.json) emit(false, null, count ? table(rows) : 'no events');
        });
      },
    );

  audit
    .command('state')
    .description('the state of one stream folded up to a time or a position')
    .requiredOption('--stream <name>', 'stream name, e.g. booking-<id>')
    .requiredOption('--as-of <time|position>', 'ISO time, or a position as printed by the timeline (commit.prepare)')
    .option('--json', JSON_HELP)
    .action(async (opts: { stream: string; asOf: string; json?: boolean }) => {
      if (!foldOf(opts.stream))
        throw new CliError(`--stream: no fold for ${opts.stream} (known prefixes: ${Object.keys(STREAM_FOLDS).join(', ')})`);
      const position = parsePosition(opts.asOf);
      const asOf = position ? { position } : { time: parseTime('--as-of', opts.asOf)! };
      await withServices(async (services) => {
        const result = await streamStateAsOf(services.store, opts.stream, asOf);
        if (!result) throw new CliError(`unknown stream ${opts.stream}`);
        emit(
          !!opts.json,
          { stream: opts.stream, asOf: opts.asOf, revision: result.revision, events: result.events, state: result.state },
          () =>
            `${opts.stream} as of ${opts.asOf}: ${result.events} of ${result.total} events${result.revision >= 0 ? ` (revision ${result.revision})` : ''}\n${JSON.stringify(result.state, null, 2)}`,
        );
      });
    });

  audit
    .command('verify')
    .description("recompute every stream's hash chain; exit 1 naming the first broken event")
    .option('--org <id>', 'only this org')
    .option('--json', JSON_HELP)
    .action(async (opts: { org?: string; json?: boolean }) => {
      const orgId = opts.org ? parseOption('--org', uuid, opts.org) : undefined;
      await withServices(async (services) => {
        if (orgId) await requireOrg(services, orgId);
        const verifier = new ChainVerifier();
        let from: Position | null = null;
        for (;;) {
          // Raw: the chain covers what is stored, before any upcasting or validation.
          const page = await services.store.readAll({ from, limit: 2000, raw: true, ...(orgId && { filter: { orgId } }) });
          for (const event of page.events) {
            const broken = verifier.check(event);
            if (broken) {
              const what = `event ${event.id} (${event.type}, stream ${event.streamId}, revision ${event.revision}, position ${formatPosition(event.position)})`;
              if (opts.json)
                emit(true, { ok: false, eventId: event.id, stream: event.streamId, revision: event.revision, reason: broken.reason }, '');
              throw new CliError(`hash chain broken at ${what}: ${broken.reason.replaceAll('_', ' ')}`);
            }
          }
          if (page.events.length < 2000) break;
          from = page.checkpoint;
        }
        emit(
          !!opts.json,
          { ok: true, streams: verifier.streams, events: verifier.events },
          `hash chains intact: ${verifier.streams} streams, ${verifier.events} events`,
        );
      });
    });
}
