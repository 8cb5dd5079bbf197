/** A command is not allowed in the aggregate's current state (HTTP 409 `booking_state_conflict`). */
export class StateConflictError extends Error {
  override name = 'StateConflictError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A command breaks a rule of the domain regardless of state (HTTP 400). */
export class DomainRuleError extends Error {
  override name = 'DomainRuleError';
  constructor(
    /** Dotted path of the offending field, e.g. `window.end`. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The aggregate does not exist (HTTP 404). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}
