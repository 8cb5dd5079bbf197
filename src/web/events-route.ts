import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { RecordedEvent } from '../eventstore/port.ts';
import { formatPosition, parsePosition } from '../eventstore/position.ts';
import { authenticate, authOf } from '../api/plugins/auth.ts';
import { problems } from '../api/problem.ts';
import { sessionStillLive } from '../identity/index.ts';
import { getOrg } from '../queries/orgs.ts';
import { LiveFeed, ResumeTooFarError } from './live-feed.ts';

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
 * anywhere closes the stream within this delay.
 */
export const RECHECK_MS = 2_000;

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
) {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
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
  const recheck = setInterval(() => {
    stillAllowed().then(
      (ok) => {
        if (ok || closed) return;
        // The page treats this as "signed out": its next request lands on the sign-in page.
        raw.end('event: signed-out\ndata: {}\n\n');
      },
      (error: unknown) => app.log.warn({ err: error }, 'live feed re-check failed'),
    );
  }, RECHECK_MS);
  recheck.unref();
  onClose(() => {
    closed = true;
    clearInterval(heartbeat);
    clearInterval(recheck);
    listener?.close();
  });
  try {
    listener = await app.liveFeed.listen(orgId, after, (event) => raw.write(sseMessage(event)));
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the connection may close while listen() awaits
    if (closed) listener.close();
  } catch (error) {
    clearInterval(heartbeat);
    clearInterval(recheck);
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
      await stream(app, auth.orgId, after, reply, (fn) => request.raw.on('close', fn), stillAllowed);
    });
  },
  { name: 'live-events' },
);
