/** The Idempotency-Key was used for a different request (409 `idempotency_key_reused`). */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
  constructor() {
    super('this Idempotency-Key was already used for a different request');
  }
}

/** A request with the same Idempotency-Key is still running (409 `idempotency_request_in_progress`). */
export class IdempotencyInProgressError extends Error {
  override name = 'IdempotencyInProgressError';
  constructor() {
    super('a request with this Idempotency-Key is still being processed; retry shortly');
  }
}

/** `If-Match` named a version other than the current one (412 `version_mismatch`). */
export class VersionMismatchError extends Error {
  override name = 'VersionMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`If-Match names version ${expected}, the current version is ${actual}`);
  }
}

/** Optimistic-concurrency retries ran out while others kept writing the same stream (409). */
export class ConcurrencyConflictError extends Error {
  override name = 'ConcurrencyConflictError';
}
