import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.tap/figures');

/** Records a reliability figure for the end-of-run summary (`.ci/run` prints them) and as a TAP comment. */
export function recordFigure(t: { comment(...args: unknown[]): void }, name: string, figures: Record<string, number | string>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ name, ...figures }));
  t.comment(
    `reliability ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
}
