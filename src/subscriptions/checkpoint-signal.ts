import type pg from 'pg';
import { AppendNotifier, type AppendListener } from '../eventstore/postgres/notifier.ts';

const CHANNEL = 'checkpoint_moved';

/**
 * Tells whoever waits for a read model (a read with a Consistency-Token) that a checkpoint moved, so the
 * wait is woken by the move instead of polling the checkpoint table: at once in this process, and to other
 * processes by a NOTIFY sent outside the subscriber's transaction (at most one in flight, later moves
 * share the next). The checkpoints live in PostgreSQL whichever event store is in use.
 *
 * The LISTEN connection opens with the first wait and stays open until {@link close}, so a request never
 * pays for connecting. A lost notice only delays: waiters still re-read now and then.
 */
export class CheckpointSignal {
  readonly #notifier: AppendNotifier;
  readonly #pool: pg.Pool;
  #kept: AppendListener | undefined;

  constructor(url: string, pool: pg.Pool) {
    this.#notifier = new AppendNotifier(url, CHANNEL);
    this.#pool = pool;
  }

  /** A checkpoint moved (its transaction committed). */
  announce(): void {
    this.#notifier.announce(this.#pool);
  }

  /** A waiter's view: `next(ms)` resolves at the next move or after `ms`. */
  listen(): AppendListener {
    this.#kept ??= this.#notifier.listen();
    return this.#notifier.listen();
  }

  async close(): Promise<void> {
    this.#kept?.close();
    await this.#notifier.close();
  }
}
