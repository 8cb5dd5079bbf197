import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';
import { type FieldError, problems } from './problem.ts';

/** NUL, or a UTF-16 surrogate without its partner: PostgreSQL's `text` and `jsonb` refuse both. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MESSAGE = 'must not contain a NUL character or an unpaired UTF-16 surrogate';

/** Shows a key in a path without the characters that made it invalid. */
const printable = (key: string) => key.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd');

/**
 * Every string, and every object key, under `value` that PostgreSQL cannot store, as field errors
 * with their path (`body.customer.name`). Iterative: a deeply nested body cannot exhaust the stack.
 */
export function unstorableText(value: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const pending: [unknown, string][] = [[value, path]];
  while (pending.length > 0 && errors.length < 20) {
    const [current, at] = pending.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) errors.push({ path: at, message: MESSAGE });
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => pending.push([item, `${at}.${i}`]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (UNSTORABLE.test(key)) errors.push({ path: `${at}.${printable(key)}`, message: `the name ${MESSAGE}` });
        else pending.push([item, `${at}.${key}`]);
      }
    }
  }
  return errors;
}

/**
 * The app's validator compiler: the zod schema of each request part (body, querystring, params,
 * headers), after one check common to all of them, that every string can be stored. A failure is the
 * usual 400 problem naming each path, so no route has to think about NUL characters or lone surrogates.
 */
export const validatorCompiler: FastifySchemaCompiler<ZodType> = (route) => {
  const validate = zodValidatorCompiler(route);
  return (data: unknown) => {
    const errors = unstorableText(data, route.httpPart ?? 'body');
    if (errors.length > 0) return { error: problems.validation(errors) };
    return validate(data);
  };
};
