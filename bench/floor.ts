// The floor a service on this stack can reach: a minimal fastify 5 app with the service's pool size and
// one route per figure. POST /floor/bookings validates the same create body with zod and does one INSERT
// of it; GET /floor/bookings runs the service's list query (listBookings) for a fixed org. No auth, no
// plugins, no events. The service's figures are reported as ratios to these, loaded the same way.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createBookingBody, listBookingsQuery } from '../src/api/private/v1/schemas.ts';
import { createDb } from '../src/db/kysely.ts';
import { listBookings } from '../src/queries/bookings.ts';
import { APP_POOL_SIZE } from './app.ts';

/** A listening floor app: `baseUrl` + `/floor/bookings`. */
export interface FloorApp {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** `orgId`: the org whose bookings GET /floor/bookings lists (the query string takes from, to, limit). */
export async function startFloorApp(url: string, orgId: string = randomUUID()): Promise<FloorApp> {
  const { db, pool } = createDb({ url, max: APP_POOL_SIZE, applicationName: 'callsnare-bench-floor' });
  await pool.query(`create table if not exists bench_floor_bookings (
    id uuid primary key,
    org_id uuid not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
  )`);
  const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.post('/floor/bookings', { schema: { body: createBookingBody } }, async (request, reply) => {
    const id = randomUUID();
    const { rows } = await pool.query<{ created_at: Date }>('insert into bench_floor_bookings (id, org_id, payload) values ($1, $2, $3) returning created_at', [
      id,
      orgId,
      JSON.stringify(request.body),
    ]);
    return reply.code(201).send({ id, orgId, ...request.body, createdAt: rows[0]!.created_at.toISOString() });
  });
  app.get('/floor/bookings', { schema: { querystring: listBookingsQuery } }, async (request) =>
    listBookings(db, orgId, { from: request.query.from, to: request.query.to, limit: request.query.limit }),
  );
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    baseUrl,
    async close() {
      await app.close();
      await db.destroy();
    },
  };
}
