import { ApiError, describeError } from '../api.ts';
import { Link } from '../router.tsx';

/** Not found: absent, or another org's (the server answers the same for both). */
export function NotFound({ what = 'page' }: { what?: string }) {
  return (
    <section className="problem" aria-labelledby="problem-title">
      <h1 id="problem-title">Not found</h1>
      <p>This {what} does not exist, or it belongs to another organization.</p>
      <p>
        <Link to="/app/leads">Back to the inbox</Link>
      </p>
    </section>
  );
}

/** Forbidden: the server refused this role; the page says why. */
export function Forbidden({ detail, role }: { detail: string; role: string }) {
  return (
    <section className="problem" aria-labelledby="problem-title" data-testid="forbidden">
      <h1 id="problem-title">You can't open this page</h1>
      <p>
        The server refused (403): {detail}. You are signed in with the <strong>{role}</strong> role. Ask an owner or admin of your
        organization if you need access.
      </p>
    </section>
  );
}

/** The right page for a failed load: not found, forbidden, or the error itself. */
export function LoadError({ error, role, what }: { error: unknown; role: string; what?: string }) {
  if (error instanceof ApiError && error.status === 404) return <NotFound {...(what && { what })} />;
  if (error instanceof ApiError && error.status === 403) return <Forbidden detail={error.message} role={role} />;
  return (
    <section className="problem" role="alert">
      <h1>Something went wrong</h1>
      <p>{describeError(error)}</p>
    </section>
  );
}
