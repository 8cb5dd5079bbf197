// The floor baseline: the least a fastify 5 service can do for the same requests, in a process of its
// own like `callsnare serve`, with the same pool size. Run by bench/floor.ts; configured by environment:
//   FLOOR_DATABASE_URL   the bench database
//   FLOOR_POOL_SIZE      pg pool size (the service's)
//   FLOOR_LIST_QUERY     JSON { sql, parameters }: the statement GET /bookings runs, as the service's
//                        listBookingsStatement compiles it, or absent
// POST /bookings validates a booking body with a JSON schema (fastify's own validator) and does one
// INSERT of it (into its own table, created at start); GET /bookings runs the captured statement and answers its rows. Logs one JSON line
// `{"msg":"floor listening","address":...}` once it listens on 127.0.0.1 (ephemeral port).
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const FLOOR_TABLE = 'bench_floor_bookings';

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const bookingBody = {
  type: 'object',
  required: ['customer', 'window'],
  additionalProperties: false,
  properties: {
    customer: {
      type: 'object',
      required: ['name', 'phone'],
      additionalProperties: false,
      properties: {
        name: text(200),
        phone: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
        email: { type: 'string', format: 'email', maxLength: 320 },
        address: {
          type: 'object',
          additionalProperties: false,
          required: ['line1', 'city'],
          properties: { line1: text(200), line2: text(200), city: text(100), region: text(100), postalCode: text(20) },
        },
      },
    },
    window: {
      type: 'object',
      required: ['start', 'end'],
      additionalProperties: false,
      properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
    },
    service: { type: 'object', additionalProperties: false, properties: { type: text(50), summary: text(500) } },
    notes: { type: 'string', maxLength: 2000 },
    externalRef: text(200),
  },
} as const;

async function main(): Promise<void> {
  const url = process.env.FLOOR_DATABASE_URL;
  if (!url) throw new Error('FLOOR_DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.FLOOR_POOL_SIZE ?? 20), application_name: 'bench-floor' });
  pool.on('error', () => {});
  const list = process.env.FLOOR_LIST_QUERY
    ? (JSON.parse(process.env.FLOOR_LIST_QUERY) as { sql: string; parameters: unknown[] })
    : undefined;
  const orgId = randomUUID();
  await pool.query(`create table if not exists ${FLOOR_TABLE} (
    id uuid primary key, org_id uuid not null, payload jsonb not null, created_at timestamptz not null default now())`);

  const app = Fastify({ logger: false });
  app.post('/bookings', { schema: { body: bookingBody } }, async (request, reply) => {
    const id = randomUUID();
    await pool.query(`insert into ${FLOOR_TABLE} (id, org_id, payload) values ($1, $2, $3)`, [id, orgId, request.body]);
    reply.code(201);
    return { id, status: 'scheduled', ...(request.body as object) };
  });
  app.get('/bookings', async (_request, reply) => {
    if (!list) return reply.code(404).send({ error: 'no list query configured' });
    const { rows } = await pool.query(list.sql, list.parameters);
    return { data: rows, nextCursor: null };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ msg: 'floor listening', address })}\n`);
  const stop = async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`floor server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
