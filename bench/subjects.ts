// The HTTP subjects the benchmarks compare, each a process of its own on the bench database:
// what `npm start` runs, the same split in two processes, and the fastify floor.
import { startFloor } from './floor.ts';
import { spawnCallsnare, startServe, stopProcesses, within } from './processes.ts';
import type { Subject } from './rounds.ts';

type AfterLoad = () => Promise<Record<string, unknown>>;

/**
 * `npm start`: one `callsnare serve` process running the HTTP API, the projectors, the lead/booking
 * link, the process manager and the automation worker.
 */
export function npmStartSubject(url: string, afterLoad?: AfterLoad): Subject {
  return {
    key: 'npmStart',
    label: '`npm start` (serve: HTTP + projectors + process manager + worker in one process)',
    async start() {
      const { process: serve, baseUrl } = await startServe(url);
      return { baseUrl, stop: () => stopProcesses([serve]), ...(afterLoad && { afterLoad }) };
    },
  };
}

/** `callsnare serve --no-worker` (HTTP + projectors) beside a separate `callsnare worker` process (process manager + jobs). */
export function splitSubject(url: string, afterLoad?: AfterLoad): Subject {
  return {
    key: 'serveNoWorker',
    label: '`serve --no-worker` + a separate `worker` process',
    async start() {
      const worker = spawnCallsnare(url, ['worker'], /^automation worker running$/);
      try {
        const [{ process: serve, baseUrl }] = await Promise.all([
          startServe(url, ['--no-worker']),
          within(120_000, 'worker', worker.ready),
        ]);
        return { baseUrl, stop: () => stopProcesses([serve, worker]), ...(afterLoad && { afterLoad }) };
      } catch (error) {
        await stopProcesses([worker]);
        throw error;
      }
    },
  };
}

/** The floor: bench/floor-server.ts, same pool size; `listQuery` is what its GET /bookings runs. */
export function floorSubject(url: string, listQuery?: { sql: string; parameters: unknown[] }): Subject {
  return {
    key: 'floor',
    label: 'floor: minimal fastify 5 + pg, same pool size',
    async start() {
      const { process: floor, baseUrl } = await startFloor(url, listQuery);
      return { baseUrl, stop: () => stopProcesses([floor]) };
    },
  };
}
