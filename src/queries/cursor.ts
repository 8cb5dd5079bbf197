/** A list cursor that does not decode (HTTP 400 on `cursor`). */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

/** Keyset cursor of a list ordered by (instant, id): opaque base64url of both. */
export function encodeCursor(instant: string, id: string): string {
  return Buffer.from(JSON.stringify([instant, id])).toString('base64url');
}

/** Decodes {@link encodeCursor}'s form; anything else is an {@link InvalidCursorError}. */
export function decodeCursor(cursor: string): [instant: string, id: string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      !Number.isNaN(Date.parse(value[0])) &&
      typeof value[1] === 'string' &&
      /^[0-9a-f-]{36}$/.test(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}
