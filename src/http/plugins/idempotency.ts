import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { IdempotencyInProgressError } from '../../commands/errors.ts';
import { problems } from '../common/problem.ts';

/** How long a request waits for an identical one in flight before answering 409 in-progress. */
const WAIT_FOR_IN_FLIGHT_MS = 1000;

/**
 * Requests with the same (org, key) in this process run one at a time: a second one waits briefly
 * for the first and then runs (the store replays the first result), or gets 409 in-progress.
 * Across processes the event store itself serialises them.
 */
export class InFlightKeys {
  readonly #running = new Map<string, Promise<unknown>>();

  async run<T>(scope: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.#running.get(scope);
    if (existing) {
      const finished = await Promise.race([
        existing.then(
          () => true,
          () => true,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), WAIT_FOR_IN_FLIGHT_MS).unref()),
      ]);
      if (!finished) throw new IdempotencyInProgressError();
      return this.run(scope, fn);
    }
    const promise = fn();
    this.#running.set(scope, promise);
    try {
      return await promise;
    } finally {
      if (this.#running.get(scope) === promise) this.#running.delete(scope);
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    inFlightKeys: InFlightKeys;
  }
}

/** Parses `Idempotency-Key` (1–255 printable ASCII, quoted or bare); undefined when absent. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header[0]! : header;
  const key = /^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
  if (key.length < 1 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) {
    throw problems.invalidHeader('Idempotency-Key', 'must be 1-255 printable ASCII characters');
  }
  return key;
}

export const idempotencyPlugin = fp(async (app: FastifyInstance) => {
  app.decorate('inFlightKeys', new InFlightKeys());
});
