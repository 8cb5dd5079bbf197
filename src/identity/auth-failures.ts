import { addressKey } from './throttle.ts';

/** Failed token authentications one address may make per window before it is refused without a lookup. */
export const AUTH_FAILURE_LIMIT = 60;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Addresses tracked at most (older windows are dropped first), so a spray of addresses cannot grow memory. */
const MAX_TRACKED = 50_000;

/**
 * Failed Bearer authentications per client address (IPv6 by /64), in this process's memory: checked before
 * any database lookup, so guessing tokens costs the database nothing once an address is over the limit.
 * Per process by design (it guards this process's pool); the token space itself makes guessing hopeless.
 */
export class AuthFailureLimiter {
  readonly #windows = new Map<string, { startedAt: number; failures: number }>();

  /** Seconds until this address may try again (0: go on). */
  retryAfter(address: string, now: number): number {
    const window = this.#windows.get(addressKey(address));
    if (!window || now - window.startedAt >= AUTH_FAILURE_WINDOW_MS || window.failures < AUTH_FAILURE_LIMIT) return 0;
    return Math.max(1, Math.ceil((window.startedAt + AUTH_FAILURE_WINDOW_MS - now) / 1000));
  }

  /** Counts one failed authentication from this address. */
  fail(address: string, now: number): void {
    const key = addressKey(address);
    const window = this.#windows.get(key);
    if (!window || now - window.startedAt >= AUTH_FAILURE_WINDOW_MS) {
      this.#windows.delete(key);
      if (this.#windows.size >= MAX_TRACKED) this.#windows.delete(this.#windows.keys().next().value!);
      this.#windows.set(key, { startedAt: now, failures: 1 });
    } else window.failures++;
  }
}
