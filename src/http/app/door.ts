import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services.ts';
import { ProblemError, problems } from '../common/problem.ts';
import { createSession, HashGate, HashingBusyError, SESSION_ABSOLUTE_MS, sessionCookieName } from '../../identity/index.ts';

/**
 * Sign-in requests carry no session yet, so no CSRF token: they must be JSON (a cross-site form cannot
 * send that without a CORS preflight we never grant) and, when the browser says where it comes from,
 * come from our own origin.
 */
export function requireSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host;
  let ok = false;
  try {
    ok = new URL(origin).host === host;
  } catch {
    ok = false;
  }
  if (!ok) throw new ProblemError(403, 'cross_origin', 'Forbidden', 'sign-in is accepted only from the app itself');
}

/** What the app's route groups share: the session cookie's name and flags, and the process's password-hash gate. */
export interface AppDoor {
  readonly secure: boolean;
  readonly cookieName: string;
  readonly startSession: (request: FastifyRequest, reply: FastifyReply, member: { memberId: string; orgId: string }) => Promise<unknown>;
  /** Runs a password hash under the process's gate: a flood of checks is refused with 503 instead of exhausting memory/CPU. */
  readonly gated: <T>(work: () => Promise<T>) => Promise<T>;
  readonly endCookie: (reply: FastifyReply) => void;
}

/** One door per server (one hash gate per process). */
export function appDoor({ config, db, clock }: Services): AppDoor {
  const secure = config.PUBLIC_BASE_URL?.startsWith('https:') ?? false;
  const cookieName = sessionCookieName(secure);
  const hashing = new HashGate(config.PASSWORD_HASH_CONCURRENCY);
  return {
    secure,
    cookieName,
    async startSession(request, reply, member) {
      const session = await createSession(
        db,
        { ...member, ip: request.ip, ...(request.headers['user-agent'] && { userAgent: request.headers['user-agent'] }) },
        clock(),
      );
      reply.setCookie(cookieName, session.id, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: SESSION_ABSOLUTE_MS / 1000 });
      return session;
    },
    gated: <T>(work: () => Promise<T>): Promise<T> =>
      hashing.run(work).catch((error: unknown) => {
        if (error instanceof HashingBusyError) throw problems.unavailable('too many password checks at once; try again in a second');
        throw error;
      }),
    endCookie: (reply) => void reply.clearCookie(cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure }),
  };
}
