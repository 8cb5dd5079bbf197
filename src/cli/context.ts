import os from 'node:os';
import type { Logger } from 'pino';
import { type OpenOptions, type OpenServices, openServices } from '../app.ts';
import type { CommandCaller } from '../commands/context.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { findOrg } from '../commands/org-reads.ts';
import type { Org } from '../domain/org.ts';
import { chooseLogFormat, createLogger } from '../logger.ts';
import { CliError } from './output.ts';

/** Loads the config or turns a bad variable into a one-line CLI error. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}

/** Opens services for a one-shot CLI command (attaching to a running embedded database if any). */
export async function withServices<T>(fn: (services: OpenServices) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  const config = configOrExit();
  const log = createLogger(config.LOG_LEVEL ?? 'warn', 2, chooseLogFormat(config.LOG_FORMAT, process.stderr.isTTY));
  const services = await openServicesOrExplain(config, log, { migrate: options.migrate ?? true, migrateJobQueue: false, poolSize: 5 });
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** Opens services, or fails with one line that says which database could not be reached and what to change. */
export async function openServicesOrExplain(config: Config, log: Logger, options: OpenOptions): Promise<OpenServices> {
  try {
    return await openServices(config, log, options);
  } catch (error) {
    const reason = describe(error);
    if (config.DATABASE_URL) {
      const u = new URL(config.DATABASE_URL);
      throw new CliError(
        `cannot reach the database at DATABASE_URL (${u.hostname}:${u.port || 5432}${u.pathname}): ${reason}; check DATABASE_URL, or unset it to use the embedded PostgreSQL`,
      );
    }
    throw new CliError(
      `cannot start the embedded PostgreSQL (DATA_DIR=${config.dataDir}): ${reason}; or set DATABASE_URL to use your own PostgreSQL`,
    );
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: { message: string }[] };
  // An AggregateError (IPv4 and IPv6 both refused) has an empty message of its own.
  const message = e.message || e.errors?.map((x) => x.message).join(', ') || e.code || String(error);
  return message.split('\n')[0]!;
}

/** The org, or the one-line `unknown org` error (exit 1) every command with `--org` gives. */
export async function requireOrg(services: OpenServices, orgId: string): Promise<Org> {
  const org = await findOrg(services, orgId);
  if (!org) throw new CliError(`unknown org ${orgId}`);
  return org;
}

/** The operator running the CLI, as events record them. */
export function operatorCaller(orgId: string): CommandCaller {
  const user = os.userInfo().username;
  return { orgId, actor: { type: 'operator', id: user, label: `${user} (cli)` }, correlationId: `cli-${process.pid}-${Date.now()}` };
}
