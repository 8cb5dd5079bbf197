import path from 'node:path';
import { z } from 'zod';

const onOff = z.enum(['log', 'twilio']);

const schema = z.object({
  DATABASE_URL: z
    .string()
    .refine((v) => URL.canParse(v), 'must be a URL such as postgres://user:password@host:5432/callsnare')
    .refine(
      (v) => !URL.canParse(v) || /^postgres(ql)?:$/.test(new URL(v).protocol),
      'CallSnare requires PostgreSQL: use a postgres:// or postgresql:// URL (MySQL and other databases are not supported)',
    )
    .optional(),
  /**
   * Streaming replicas of DATABASE_URL, comma-separated: the HTTP queries read there (round-robin, a failing
   * one skipped for a while), everything else stays on the primary. Unset: everything on the primary.
   */
  READ_DATABASE_URL: z
    .string()
    .transform((v) => v.split(',').map((part) => part.trim()))
    .pipe(
      z
        .array(
          z
            .string()
            .refine(
              (v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol),
              'must be one or more comma-separated PostgreSQL URLs such as postgres://user:password@replica:5432/callsnare',
            ),
        )
        .min(1)
        .max(16),
    )
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Unset: `serve` logs at info, other CLI commands at warn. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** `pretty`: human lines; `json`: one pino JSON object per line. Unset: pretty on a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  EVENT_STORE: z.enum(['postgres', 'esdb']).default('postgres'),
  EVENTSTORE_CONNECTION_STRING: z
    .string()
    .regex(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb):\/\//, 'must start with esdb:// (or esdb+discover://)')
    .optional(),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits')
    .optional(),
  /** Base URL of Twilio's REST API; only tests point it elsewhere. */
  TWILIO_API_BASE_URL: z.url().default('https://api.twilio.com'),
  MESSAGING: onOff.default('log'),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Requests per minute one credential may make on the protected API, and one member on the internal API and the web app (429 beyond). */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000_000).default(1200),
  /** Password hashes (scrypt, 32+ MiB each) one process runs at once; past that a sign-in or invite answers 503 with Retry-After. */
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Which proxies' `X-Forwarded-For` to believe, as fastify's `trustProxy` takes it: a hop count (`1`), or
   * comma-separated addresses/CIDRs (`10.0.0.0/8,127.0.0.1`). Unset: none (the socket's address is the client's).
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(
      /^(\d{1,2}|[0-9a-fA-F:.]+(\/\d{1,3})?(\s*,\s*[0-9a-fA-F:.]+(\/\d{1,3})?)*)$/,
      'must be a hop count or comma-separated addresses/CIDRs',
    )
    .transform((value) => (/^\d+$/.test(value) ? Number(value) : value.split(',').map((part) => part.trim())))
    .optional(),
  /** `1`: serve `GET /metrics` without auth (inside a private network only). Without it or METRICS_TOKEN, /metrics is not served. */
  METRICS_PUBLIC: z.enum(['0', '1']).default('0'),
  /** When set, `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').regex(/^\S+$/, 'must not contain spaces').optional(),
  /** Seconds to wait before each retry of an outbound webhook delivery (CONTRACT §9); after the last, it is failed. */
  WEBHOOK_RETRY_DELAYS: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^\d+(\.\d+)?$/, 'must be a comma-separated list of seconds')
            .transform(Number),
        )
        .min(1)
        .max(20),
    ),
  /** `1`: outbound webhooks may go to loopback, link-local and private addresses (local testing only). */
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
});

/** The service configuration: every variable of CONTRACT §1, parsed once and frozen. */
export type Config = Readonly<z.infer<typeof schema>> & { readonly dataDir: string };

/** A variable failed validation; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses an environment (default `process.env`) into a frozen {@link Config}.
 * Empty strings count as unset, so `PORT= npm start` means the default.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid ${name}: ${issue.message}`);
  }
  const value = parsed.data;
  if (value.EVENT_STORE === 'esdb' && !value.EVENTSTORE_CONNECTION_STRING) {
    throw new ConfigError('invalid EVENTSTORE_CONNECTION_STRING: required when EVENT_STORE=esdb');
  }
  if (value.MESSAGING === 'twilio' && (!value.TWILIO_ACCOUNT_SID || !value.TWILIO_AUTH_TOKEN)) {
    throw new ConfigError('invalid TWILIO_ACCOUNT_SID: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required when MESSAGING=twilio');
  }
  return Object.freeze({ ...value, dataDir: path.resolve(value.DATA_DIR) });
}

/** Test-run switches; read here so no other module touches `process.env`. */
export function testEnv(env: NodeJS.ProcessEnv = process.env) {
  return Object.freeze({
    databaseUrl: env.DATABASE_URL || undefined,
    eventStoreConnectionString: env.EVENTSTORE_CONNECTION_STRING || undefined,
    /** The store the app-level tests run on (`EVENT_STORE`, as the service reads it); unset: postgres. */
    eventStore: env.EVENT_STORE || undefined,
    embeddedInfoFile: env.CALLSNARE_TEST_PG_INFO || undefined,
  });
}
