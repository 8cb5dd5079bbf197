// Child process of bench/load.ts: runs one autocannon load and sends back its figures.
// A separate process keeps the load generator off the server's event loop.
import autocannon from 'autocannon';
import type { LoadOptions, LoadResult, RequestFactoryModule } from './load.ts';

process.once('message', (message) => {
  void (async () => {
    const options = message as LoadOptions;
    try {
      let requests: autocannon.Request[] | undefined;
      if (options.factory) {
        const module = (await import(options.factory.module)) as RequestFactoryModule;
        const next = module.requestFactory(options.factory.options ?? {});
        // Called for every request (autocannon rebuilds a request that has a setupRequest each time).
        requests = [
          {
            setupRequest: (request) => {
              const made = next();
              return { ...request, body: made.body, headers: { ...request.headers, ...made.headers } };
            },
          },
        ];
      }
      const result = await autocannon({
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        method: options.method ?? 'GET',
        ...(options.headers && { headers: options.headers }),
        ...(options.body !== undefined && { body: options.body }),
        ...(requests && { requests }),
      });
      const statusCodes: Record<string, number> = {};
      for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
      const out: LoadResult = {
        requests: result.requests.total,
        durationSec: result.duration,
        rps: result.requests.total / result.duration,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        meanMs: result.latency.mean,
        maxMs: result.latency.max,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes,
      };
      process.send!({ ok: true, result: out }, () => process.exit(0));
    } catch (error) {
      process.send!({ ok: false, error: String(error instanceof Error ? error.stack : error) }, () => process.exit(1));
    }
  })();
});
