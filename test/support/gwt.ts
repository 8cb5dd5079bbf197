import type { Test } from 'tap';

/** An aggregate's pure functions, as given/when/then needs them. */
export interface Decider<S, C, E> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initial: S;
}

/**
 * Emmett-style specification: `given(events).when(command).then(events)` or `.thenThrows(ErrorClass)`.
 * Given events are folded with `evolve`; the command's events are compared with `t.same`.
 */
export function specFor<S, C, E>(decider: Decider<S, C, E>) {
  return (t: Test) => ({
    given: (events: readonly E[]) => ({
      when: (command: C) => {
        const run = () => decider.decide(command, events.reduce(decider.evolve, decider.initial));
        return {
          then: (expected: readonly E[]) => t.same(run(), expected),
          thenThrows: (errorClass: abstract new (...args: never[]) => Error, match?: RegExp) =>
            t.throws(run, match ? { name: errorClass.name, message: match } : errorClass),
        };
      },
    }),
  });
}
