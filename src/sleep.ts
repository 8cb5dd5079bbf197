import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` milliseconds, or less when `signal` aborts: it then resolves (the caller checks the signal). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal && { signal }).catch((error: unknown) => {
    if (!signal?.aborted) throw error;
  });
}
