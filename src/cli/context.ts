import os from 'node:os';
import type { OpenServices } from '../app.ts';
import { openServices } from '../app.ts';
import type { CommandCaller } from '../commands/context.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
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
  const log = createLogger(config.LOG_LEVEL ?? 'warn', 2);
  let services: OpenServices;
  try {
    services = await openServices(config, log, { migrate: options.migrate ?? true, poolSize: 5 });
  } catch (error) {
    throw new CliError(`cannot reach the database: ${(error as Error).message}`);
  }
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** The operator running the CLI, as events record them. */
export function operatorCaller(orgId: string): CommandCaller {
  const user = os.userInfo().username;
  return { orgId, actor: { type: 'operator', id: user, label: `${user} (cli)` }, correlationId: `cli-${process.pid}-${Date.now()}` };
}
