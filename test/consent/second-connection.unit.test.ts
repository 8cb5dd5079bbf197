import t from 'tap';
import { MAX_HOLDERS, withSecondConnection } from '../../src/db/second-connection.ts';

t.test('work holding a connection while it needs another runs at most MAX_HOLDERS at once, and all of it runs', async (t) => {
  let now = 0;
  let peak = 0;
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: 3 * MAX_HOLDERS + 1 }, (_, i) =>
      withSecondConnection(async () => {
        now++;
        peak = Math.max(peak, now);
        await new Promise((r) => setTimeout(r, 5));
        now--;
        if (i === 2) throw new Error('one fails');
        done.push(i);
      }).catch(() => undefined),
    ),
  );
  t.equal(peak, MAX_HOLDERS);
  t.equal(done.length, 3 * MAX_HOLDERS, 'every other work ran; a failure frees its slot');
  t.equal(await withSecondConnection(async () => 'free again'), 'free again');
});
