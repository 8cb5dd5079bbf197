import { z } from 'zod';
import { instant, uuid } from '../domain/values.ts';

/** A list cursor that does not decode (HTTP 400 on `cursor`). */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

/** Keyset cursor of a list ordered by (instant, id): opaque base64url of both. */
export function encodeCursor(instant: string, id: string): string {
  return Buffer.from(JSON.stringify([instant, id])).toString('base64url');
}

/** What {@link encodeCursor} writes: values the database can compare against (a forged one is a 400, never a query error). */
const cursorContent = z.tuple([instant, uuid]);

/** Decodes {@link encodeCursor}'s form; anything else is an {@link InvalidCursorError}. */
export function decodeCursor(cursor: string): [instant: string, id: string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not one this API returned');
  }
  const parsed = cursorContent.safeParse(value);
  if (!parsed.success) throw new InvalidCursorError('cursor is not one this API returned');
  return parsed.data;
}
