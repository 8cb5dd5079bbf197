// HTTP load with autocannon, run in a child process (tsx-loaded) so that the load generator and the
// server under test do not share an event loop.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationSec: number;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /**
   * A body and headers of its own for every request: `module` (a file URL, imported by the child)
   * exports `requestFactory(options)` returning a function called once per request (see
   * {@link RequestFactoryModule}). Its headers are added to `headers`; its body replaces `body`.
   */
  readonly factory?: { readonly module: string; readonly options?: Record<string, unknown> };
}

/** What a {@link LoadOptions.factory} module exports. */
export interface RequestFactoryModule {
  requestFactory(options: Record<string, unknown>): () => { body: string; headers?: Record<string, string> };
}

export interface LoadResult {
  /** Responses received (any status). */
  readonly requests: number;
  readonly durationSec: number;
  /** Responses per second. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
  readonly non2xx: number;
  /** Connection errors, timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
}

const CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));

export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (message) => {
      settled = true;
      const reply = message as { ok: true; result: LoadResult } | { ok: false; error: string };
      if (reply.ok) resolve(reply.result);
      else reject(new Error(`autocannon failed: ${reply.error}`));
    });
    child.once('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`autocannon child exited with code ${code} before reporting`));
      settled = true;
    });
    child.send(options);
  });
}
