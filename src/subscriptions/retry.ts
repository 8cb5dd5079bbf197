import { sleep } from '../sleep.ts';

/**
 * The engine's retry loop: runs `attempt` again and again until `signal` aborts; after a failure reports it
 * with `onError` and waits `retryMs` (cut short by the signal) before the next attempt. Live subscribers and
 * the web app's live feed both keep their one subscription alive with it.
 */
export async function retryUntilAborted(
  signal: AbortSignal,
  attempt: () => Promise<void>,
  onError: (error: unknown) => void,
  retryMs = 1000,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await attempt();
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal may abort while the attempt runs
      if (signal.aborted) return;
      onError(error);
      await sleep(retryMs, signal);
    }
  }
}
