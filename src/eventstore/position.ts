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

/** Parses {@link formatPosition}'s form; undefined for anything else. */
export function parsePosition(text: string): Position | undefined {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text);
  if (!match) return undefined;
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}
