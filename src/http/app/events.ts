import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { formatPosition, parsePosition } from '../../eventstore/position.ts';
import { authenticate, authOf } from '../plugins/authentication.ts';
import { ProblemError, problems } from '../common/problem.ts';
import { securityHeaders } from '../common/security-headers.ts';
import { AppendNotifier } from '../../eventstore/postgres/notifier.ts';
import { ACCESS_CHANGED_CHANNEL, sessionStillLive } from '../../identity/index.ts';
import { getOrg } from '../../queries/orgs.ts';
import { LiveFeed, ResumeTooFarError } from '../../subscriptions/live-feed.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's one live feed of the event store (SSE pages listen to it). */
    liveFeed: LiveFeed;
  }
}

/** How often an open stream gets a comment line, so proxies and the browser see it alive. */
const HEARTBEAT_MS = 15_000;

/**
 * How often an open stream re-checks that its caller may still read it. The sessions table and the org's
 * members are the truth in every process, so a sign-out, removal, role or password change or expiry
 * anywhere closes the stream within this delay at the latest. Every process also listens for the
 * access-changed notice (`announceAccessChanged`) and re-checks its streams at once when it comes, so
 * this periodic check only catches expiry and a lost notice.
 */
export const RECHECK_MS = 5_000;

/** Open streams one member (or token) may hold in one process, and one process holds at most. */
export const STREAMS_PER_MEMBER = 5;
export const STREAMS_PER_PROCESS = 1000;

/** Whether the caller that opened a stream still may: same session live, still a member, same role. */
type StillAllowed = () => Promise<boolean>;

/** One SSE message: id = the event's position, event = its type, data = a small summary (never the payload). */
export function sseMessage(event: RecordedEvent): string {
  const { actor, occurredAt } = event.metadata;
  const data = { streamId: event.streamId, type: event.type, occurredAt, actor: { type: actor.type, id: actor.id, label: actor.label } };
  return `id: ${formatPosition(event.position)}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function resumePoint(header: string | string[] | undefined) {
  if (header === undefined || header === '') return null;
  const text = Array.isArray(header) ? header[0]! : header;
  const position = parsePosition(text.trim());
  if (!position) {
    const message = 'must be an event id this stream sent (<commit>.<prepare>)';
    throw problems.invalidHeader('Last-Event-ID', message, 'Last-Event-ID must be an event id this stream sent');
  }
  return position;
}

async function stream(
  app: FastifyInstance,
  orgId: string,
  after: ReturnType<typeof resumePoint>,
  reply: FastifyReply,
  onClose: (fn: () => void) => void,
  stillAllowed: StillAllowed,
  onNotice: (check: () => void) => () => void,
) {
  const raw = reply.raw;
  reply.hijack();
  // Hijacked: fastify's onSend hook does not run, so the stream sets the protections itself.
  raw.writeHead(200, {
    ...securityHeaders(app.services.config.PUBLIC_BASE_URL?.startsWith('https:') ?? false),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 3000\n: connected\n\n');
  let closed = false;
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  let listener: { close(): void } | undefined;
  const check = () => {
    stillAllowed().then(
      (ok) => {
        if (ok || closed) return;
        // The page treats this as "signed out": its next request lands on the sign-in page.
        raw.end('event: signed-out\ndata: {}\n\n');
      },
      (error: unknown) => app.log.warn({ err: error }, 'live feed re-check failed'),
    );
  };
  const recheck = setInterval(check, RECHECK_MS);
  recheck.unref();
  const unhear = onNotice(check);
  onClose(() => {
    closed = true;
    clearInterval(heartbeat);
    clearInterval(recheck);
    unhear();
    listener?.close();
  });
  try {
    listener = await app.liveFeed.listen(orgId, after, (event) => raw.write(sseMessage(event)));
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the connection may close while listen() awaits
    if (closed) listener.close();
  } catch (error) {
    clearInterval(heartbeat);
    clearInterval(recheck);
    unhear();
    // Too far behind to replay: the page reloads its data and reconnects without Last-Event-ID.
    if (error instanceof ResumeTooFarError) raw.end('event: reset\ndata: {}\n\n');
    else {
      app.log.error({ err: error }, 'live feed listen failed');
      raw.end();
    }
  }
}

/**
 * `GET /app/events`: the caller's org's new events as Server-Sent Events (CONTRACT §7). Authenticated
 * like the internal API (`authenticate('member')`: a session cookie or a member token); honours
 * `Last-Event-ID` (or `?lastEventId=` for a first connection) by replaying what was missed first.
 */
export const liveEventsRoute = fp(
  async (app: FastifyInstance) => {
    const feed = new LiveFeed(app.services.store, { log: app.services.log });
    app.decorate('liveFeed', feed);
    app.addHook('onClose', async () => feed.close());
    // Access changes anywhere (sign-out, removal, role or password change) re-check this process's
    // streams at once: one LISTEN connection, opened with the first stream, kept until the app closes.
    const checks = new Set<() => void>();
    const notices = new AppendNotifier(app.services.databaseUrl, ACCESS_CHANGED_CHANNEL);
    const stop = new AbortController();
    let hearing = false;
    const onNotice = (check: () => void) => {
      checks.add(check);
      if (!hearing) {
        hearing = true;
        const listener = notices.listen();
        void (async () => {
          while (!stop.signal.aborted) {
            await listener.next(60_000, stop.signal);
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- aborted while next() waited
            if (!stop.signal.aborted) for (const each of checks) each();
          }
          listener.close();
        })();
      }
      return () => checks.delete(check);
    };
    app.addHook('onClose', async () => {
      stop.abort();
      await notices.close();
    });
    const open = new Map<string, number>();
    let total = 0;
    app.get('/app/events', { onRequest: authenticate('member'), schema: { hide: true } }, async (request, reply) => {
      const query = request.query as { lastEventId?: string };
      const after = resumePoint(request.headers['last-event-id'] ?? query.lastEventId);
      const auth = authOf(request);
      const { db, clock } = app.services;
      const stillAllowed: StillAllowed = async () => {
        if (auth.session && !(await sessionStillLive(db, auth.session.idHash, clock()))) return false;
        const org = await getOrg(db, auth.orgId);
        const member = org?.members.find((m) => m.memberId === auth.memberId);
        return auth.memberId === null || member?.role === auth.role;
      };
      const who = auth.memberId ?? auth.credentialId;
      if ((open.get(who) ?? 0) >= STREAMS_PER_MEMBER)
        throw new ProblemError(
          429,
          'too_many_streams',
          'Too many open streams',
          `at most ${STREAMS_PER_MEMBER} open live feeds per person`,
          {
            headers: { 'retry-after': '30' },
          },
        );
      if (total >= STREAMS_PER_PROCESS) throw problems.unavailable('this server holds as many live feeds as it can; try again shortly');
      open.set(who, (open.get(who) ?? 0) + 1);
      total++;
      reply.raw.once('close', () => {
        total--;
        const left = (open.get(who) ?? 1) - 1;
        if (left > 0) open.set(who, left);
        else open.delete(who);
      });
      await stream(app, auth.orgId, after, reply, (fn) => request.raw.on('close', fn), stillAllowed, onNotice);
    });
  },
  { name: 'live-events' },
);
