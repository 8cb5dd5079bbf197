import type { z } from 'zod';
import { CliError } from './output.ts';

/** Validates one CLI option with a zod schema; a failure is a one-line error naming the flag. */
export function parseOption<S extends z.ZodType>(flag: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliError(`${flag}: ${result.error.issues[0]!.message}`);
  return result.data;
}

/** `on` / `off` (also true/false, yes/no). */
export function onOff(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(on|true|yes)$/i.test(value)) return true;
  if (/^(off|false|no)$/i.test(value)) return false;
  throw new CliError(`${flag}: must be on or off`);
}
