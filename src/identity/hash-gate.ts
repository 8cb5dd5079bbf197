/** Too many password hashes are running in this process: try again shortly. */
export class HashingBusyError extends Error {
  override name = 'HashingBusyError';
}

/**
 * Bounds how many password hashes (scrypt: tens of MiB and tens of ms each) a process runs at once, so a
 * flood of sign-ins or invite acceptances cannot take the process's memory and CPU: past the bound the
 * work is refused at once ({@link HashingBusyError}) rather than queued.
 */
export class HashGate {
  #running = 0;
  constructor(readonly max: number) {}

  /** Runs `work` if a slot is free, else throws {@link HashingBusyError}. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) throw new HashingBusyError('too many password checks at once');
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
    }
  }
}
