/**
 * Work that holds one pool connection (a transaction with an advisory lock) while it needs a second one
 * (an event-store read or append through the same pool): the consent lock of a send's intent and of an
 * opt-out (automation/may-text.ts, commands/consent.ts). If every connection of the pool were held by such
 * work, none could get its second one: so at most {@link MAX_HOLDERS} run at once per process, well under
 * the pool's size (10 by default), and the rest wait their turn here, not on the pool.
 */
export const MAX_HOLDERS = 4;

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` once fewer than {@link MAX_HOLDERS} such works run in this process. */
export async function withSecondConnection<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_HOLDERS) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next waiter (running stays the same), or free it.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}
