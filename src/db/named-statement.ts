import { createHash } from 'node:crypto';
import type pg from 'pg';

const NAMES = new Map<string, string>();

/**
 * A hot statement as a named prepared statement: each pooled connection parses it once, and PostgreSQL
 * may keep its plan, instead of parsing and planning it at every call. Names derive from the text, so
 * every caller sharing a pool agrees on them. Only for statements whose good plan does not depend on
 * the values (a generic plan is chosen after five runs).
 */
export function named(text: string, values: unknown[]): pg.QueryConfig {
  let name = NAMES.get(text);
  if (!name) NAMES.set(text, (name = `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  return { name, text, values };
}
