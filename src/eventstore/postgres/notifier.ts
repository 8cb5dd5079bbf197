import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { named } from '../../db/named-statement.ts';

/** One subscriber's view of the shared LISTEN connection. */
export interface AppendListener {
  /** Settles once LISTEN is in place (or failed: polling then covers). */
  readonly ready: Promise<void>;
  /** Resolves at the next append notification, after `timeoutMs`, or on abort, whichever is first. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

const CHANNEL = 'es_appended';

/**
 * Shares one LISTEN connection among all subscriptions of a store. It opens with the first listener,
 * closes with the last, and reconnects after a drop; subscribers poll meanwhile, so nothing is missed.
 * The channel defaults to the store's appends; the checkpoint signal (`src/subscriptions`) uses its own.
 */
export class AppendNotifier {
  readonly #url: string;
  readonly #channel: string;
  readonly #emitter = new EventEmitter();
  /** Payload of this process's NOTIFYs: their echo on our own LISTEN connection wakes nobody (the in-process emit did). */
  readonly #self = randomUUID();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #listeners = 0;
  #closed = false;
  #announcing = false;
  #announceAgain = false;

  constructor(url: string, channel = CHANNEL) {
    this.#url = url;
    this.#channel = channel;
    this.#emitter.setMaxListeners(0);
  }

  listen(): AppendListener {
    this.#listeners++;
    const ready = this.#ensureConnected();
    let closed = false;
    return {
      ready,
      next: (timeoutMs, signal) =>
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.#emitter.off('appended', done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          this.#emitter.on('appended', done);
          signal?.addEventListener('abort', done, { once: true });
        }),
      close: () => {
        if (closed) return;
        closed = true;
        if (--this.#listeners === 0) void this.#disconnect();
      },
    };
  }

  /**
   * Tells subscribers that this process committed an append: at once in-process, and to other
   * processes with a NOTIFY sent outside the append's transaction. At most one NOTIFY is in flight;
   * appends finishing meanwhile share the next one. Subscribers also poll, so a lost one only delays.
   */
  announce(pool: pg.Pool): void {
    this.#emitter.emit('appended');
    if (this.#announcing) {
      this.#announceAgain = true;
      return;
    }
    this.#announcing = true;
    void (async () => {
      do {
        this.#announceAgain = false;
        await pool.query(named(`select pg_notify('${this.#channel}', $1)`, [this.#self])).catch(() => {});
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set again by appends that land while this NOTIFY runs
      } while (this.#announceAgain && !this.#closed);
      this.#announcing = false;
    })();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#disconnect();
  }

  #ensureConnected(): Promise<void> {
    if (this.#client || this.#closed) return Promise.resolve();
    this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.#url, application_name: 'callsnare-listen' });
      const dropped = () => {
        if (this.#client !== client) return;
        this.#client = undefined;
        client.end().catch(() => {});
        if (this.#listeners > 0 && !this.#closed) setTimeout(() => void this.#ensureConnected(), 1000).unref();
      };
      client.on('error', dropped);
      client.on('end', dropped);
      client.on('notification', (message) => {
        if (message.payload !== this.#self) this.#emitter.emit('appended');
      });
      try {
        await client.connect();
        await client.query(`listen ${this.#channel}`);
        this.#client = client;
        if (this.#listeners === 0 || this.#closed) await this.#disconnect();
      } catch {
        client.end().catch(() => {});
        if (this.#listeners > 0 && !this.#closed) setTimeout(() => void this.#ensureConnected(), 1000).unref();
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  async #disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => {});
  }
}
