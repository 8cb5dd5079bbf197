import type { Command } from 'commander';
import { z } from 'zod';
import { addWebhookEndpoint, removeWebhookEndpoint, replayDeliveries } from '../../commands/webhook-endpoints.ts';
import { WebhookUrlError } from '../../commands/webhook-url.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { webhookEventType } from '../../domain/events/org.ts';
import { instant, uuid } from '../../domain/values.ts';
import { listWebhookDeliveries, listWebhookEndpoints } from '../../queries/webhooks.ts';
import type { OpenServices } from '../../app.ts';
import { operatorCaller, requireOrg, withServices } from '../context.ts';
import { CliError, emit, JSON_HELP, NDJSON_HELP, table } from '../output.ts';
import { parseOption } from '../parse.ts';

const deps = (services: OpenServices) => ({ ...services, allowPrivate: services.config.WEBHOOK_ALLOW_PRIVATE });

/** Turns the refusals an operator can cause into one line. */
function explain(error: unknown): never {
  if (error instanceof WebhookUrlError) throw new CliError(`--url: ${error.message}`);
  if (error instanceof NotFoundError) throw new CliError(error.message);
  throw error;
}

/** `callsnare webhook add|list|remove|deliveries|replay` (CONTRACT §9), through the functions the internal API uses. */
export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook').description("outbound webhooks: an org's endpoints and their delivery log");

  webhook
    .command('add')
    .description('register an endpoint; its signing secret (whsec_...) is printed once')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--url <url>', 'http(s) URL receiving the POSTs')
    .requiredOption('--events <list>', `comma-separated: ${webhookEventType.options.join(',')}`)
    .option('--description <text>', 'what receives them, e.g. "CRM"')
    .option('--json', JSON_HELP)
    .action(async (opts: { org: string; url: string; events: string; description?: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const events = parseOption(
        '--events',
        z.array(webhookEventType).min(1),
        opts.events
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const description =
        opts.description === undefined ? undefined : parseOption('--description', z.string().trim().min(1).max(500), opts.description);
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        const created = await addWebhookEndpoint(deps(services), operatorCaller(orgId), { url: opts.url, events, description }).catch(
          explain,
        );
        emit(
          !!opts.json,
          { id: created.id, url: created.url, events: created.events, secret: created.secret },
          () =>
            `webhook endpoint ${created.id} → ${created.url} (${events.join(', ')})\n${created.secret}\nStore it now: it is not shown again.`,
        );
      });
    });

  webhook
    .command('list')
    .description("an org's endpoints with their delivery health (never the secrets)")
    .requiredOption('--org <id>', 'org id')
    .option('--json', `${NDJSON_HELP}, one per endpoint`)
    .action(async (opts: { org: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        const rows = await listWebhookEndpoints(services.db, orgId);
        if (opts.json) {
          for (const r of rows) emit(true, r, '');
          return;
        }
        if (!rows.length) {
          emit(false, null, 'no webhook endpoints');
          return;
        }
        emit(false, null, () =>
          table([
            ['ID', 'URL', 'EVENTS', 'STATUS', 'LAST', 'FAILURES', 'NEXT RETRY'],
            ...rows.map((r) => [
              r.id,
              r.url,
              r.events.join(','),
              r.status,
              r.health.lastStatus === null ? '-' : String(r.health.lastStatus),
              String(r.health.failuresInARow),
              r.health.nextRetryAt ?? '-',
            ]),
          ]),
        );
      });
    });

  webhook
    .command('remove')
    .description('remove an endpoint: nothing more is sent to it')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--endpoint <id>', 'endpoint id')
    .action(async (opts: { org: string; endpoint: string }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const endpointId = parseOption('--endpoint', uuid, opts.endpoint);
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        await removeWebhookEndpoint(deps(services), operatorCaller(orgId), endpointId).catch(explain);
        emit(false, null, `webhook endpoint ${endpointId} removed`);
      });
    });

  webhook
    .command('deliveries')
    .description("an endpoint's latest deliveries, each attempt with its status and duration")
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--endpoint <id>', 'endpoint id')
    .option('--limit <n>', 'how many (default 50)', '50')
    .option('--json', `${NDJSON_HELP}, one per delivery`)
    .action(async (opts: { org: string; endpoint: string; limit: string; json?: boolean }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const endpointId = parseOption('--endpoint', uuid, opts.endpoint);
      const limit = parseOption('--limit', z.coerce.number().int().min(1).max(1000), opts.limit);
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        const rows = await listWebhookDeliveries(services.db, orgId, endpointId, { limit });
        if (!rows) throw new CliError(`unknown webhook endpoint ${endpointId} in org ${orgId}`);
        if (opts.json) {
          for (const r of rows) emit(true, r, '');
          return;
        }
        if (!rows.length) {
          emit(false, null, 'no deliveries');
          return;
        }
        emit(false, null, () =>
          table([
            ['WEBHOOK-ID', 'TYPE', 'RESOURCE', 'STATUS', 'ATTEMPTS (status/ms)', 'CREATED'],
            ...rows.map((r) => [
              r.id,
              r.type,
              r.resource,
              r.status,
              r.attempts.map((a) => `${a.status ?? a.error ?? '?'}/${a.durationMs ?? '-'}`).join(' ') || '-',
              r.createdAt,
            ]),
          ]),
        );
      });
    });

  webhook
    .command('replay')
    .description('send deliveries again (same webhook-id): from one delivery on, or all since a time')
    .requiredOption('--org <id>', 'org id')
    .requiredOption('--endpoint <id>', 'endpoint id')
    .option('--from <webhook-id>', 'this delivery and every later one')
    .option('--since <instant>', 'every delivery created since this UTC instant, e.g. 2030-01-01T00:00:00Z')
    .action(async (opts: { org: string; endpoint: string; from?: string; since?: string }) => {
      const orgId = parseOption('--org', uuid, opts.org);
      const endpointId = parseOption('--endpoint', uuid, opts.endpoint);
      if (!opts.from === !opts.since) throw new CliError('give exactly one of --from <webhook-id> or --since <instant>');
      const from = opts.from ? { deliveryId: opts.from } : { since: new Date(parseOption('--since', instant, opts.since)) };
      await withServices(async (services) => {
        await requireOrg(services, orgId);
        const replayed = await replayDeliveries(services.db, orgId, endpointId, from).catch(explain);
        emit(false, null, `${replayed} deliver${replayed === 1 ? 'y' : 'ies'} queued again`);
      });
    });
}
