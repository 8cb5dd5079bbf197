import type { Position } from './port.ts';

/** -1, 0 or 1 as `a` is before, at or after `b`; null sorts first. */
export function comparePositions(a: Position | null | undefined, b: Position | null | undefined): number {
  if (!a) return b ? -1 : 0;
  if (!b) return 1;
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** `"<commit>.<prepare>"`: the form positions take in checkpoints, tokens and the CLI. */
export function formatPosition(position: Position): string {
  return `${position.commit}.${position.prepare}`;
}

/** Largest part of a position: PostgreSQL keeps them as `xid8`/`bigint`, EventStoreDB as log offsets. */
const MAX_POSITION_PART = 2n ** 63n - 1n;

/** Parses {@link formatPosition}'s form; undefined for anything else, parts past a signed 64-bit integer included. */
export function parsePosition(text: string): Position | undefined {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text);
  if (!match) return undefined;
  const position = { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
  return position.commit <= MAX_POSITION_PART && position.prepare <= MAX_POSITION_PART ? position : undefined;
}
