import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ReadTarget } from '../../db/read-pool.ts';
import type { Position } from '../../eventstore/port.ts';
import { comparePositions, formatPosition, parsePosition } from '../../eventstore/position.ts';
import type { EventFilter } from '../../eventstore/port.ts';
import { projectionByName } from '../../projections/registry.ts';
import { waitForCheckpoints } from '../../subscriptions/engine.ts';
import { ProblemError, problems } from './problem.ts';

const WAIT_MS = 5000;
/** Of that budget, how long a token read waits for its replica to replay the write before reading on the primary. */
const REPLICA_WAIT_MS = 1000;
const chosen = new WeakMap<FastifyRequest, ReadTarget>();

/**
 * Where this request's queries read: a streaming replica when `READ_DATABASE_URL` names any (one per
 * request, so a Consistency-Token wait and the reads after it ask the same server), else the primary.
 */
export function readsOf(request: FastifyRequest): ReadTarget {
  let target = chosen.get(request);
  if (!target) {
    const { reads, db, pool } = request.server.services;
    target = reads?.choose() ?? { name: 'primary', db, pool };
    chosen.set(request, target);
  }
  return target;
}

/** Sets `Consistency-Token` on a write response: the position the write landed at. */
export function setConsistencyToken(reply: FastifyReply, position: Position | null): void {
  if (position) reply.header('consistency-token', formatPosition(position));
}

/**
 * Read-your-writes: when the request carries a `Consistency-Token`, waits until the named read
 * models include that position (up to 5 s, then 503 with Retry-After), woken by checkpoint moves rather
 * than polling. A token past the store's newest event was never ours: 400 at once. On a replica, it then
 * waits (up to 1 s of what is left) for the replica to replay that far, else the request reads on the primary.
 */
export async function awaitConsistency(request: FastifyRequest, projections: readonly string[]): Promise<void> {
  const header = request.headers['consistency-token'];
  if (header === undefined) return;
  const position = typeof header === 'string' ? parsePosition(header.trim()) : undefined;
  if (!position) {
    throw problems.invalidHeader('Consistency-Token', 'is not one this API returned');
  }
  const { db, store, checkpoints, reads } = request.server.services;
  const started = Date.now();
  // A token past the newest event was never one of ours: refuse it at once rather than wait 5 s for it.
  const newest = await store.newestPosition();
  if (!newest || comparePositions(position, newest) > 0) {
    throw problems.invalidHeader('Consistency-Token', 'is past the newest event: it is not one this API returned');
  }
  // A read model idle on a quiet store moves on once a read shows nothing of its kind up to the token.
  const filters = new Map<string, EventFilter>();
  for (const name of projections) {
    const filter = projectionByName(name)?.filter;
    if (filter) filters.set(name, filter);
  }
  if (!(await waitForCheckpoints(db, projections, position, WAIT_MS, { store, filters }, checkpoints))) {
    throw new ProblemError(
      503,
      'consistency_timeout',
      'Service unavailable',
      'the read model has not caught up with that write yet; retry shortly',
      {
        headers: { 'retry-after': '1' },
      },
    );
  }
  if (reads) {
    const budget = Math.min(REPLICA_WAIT_MS, Math.max(0, WAIT_MS - (Date.now() - started)));
    chosen.set(request, await reads.caughtUp(readsOf(request), budget));
  }
}
