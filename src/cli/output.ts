/** A failure the CLI reports as one line and a non-zero exit. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Prints machine output (JSON) or a human line. */
export function emit(json: boolean, value: unknown, human: string | (() => string)): void {
  if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else process.stdout.write(`${typeof human === 'function' ? human() : human}\n`);
}

/** `--json` of a list command: NDJSON, one JSON object per line (nothing for an empty list). */
export const NDJSON_HELP = 'NDJSON: one JSON object per line';

/** `--json` of a command that prints one thing: one JSON document. */
export const JSON_HELP = 'one JSON document';

/**
 * Makes writing to a closed pipe (`callsnare ... --json | head -1`) end the process quietly, as
 * command-line tools do, instead of an EPIPE stack trace.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}

/** Renders rows as aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
