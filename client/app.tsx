import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { ApiError, request, setCsrfToken } from './api.ts';
import { LiveIndicator, useLiveEvents } from './live.tsx';
import { useArrivalAlerts, useDocumentTitle } from './notify.tsx';
import { OfflineBanner, OfflineIndicator, OfflineShell, useOffline } from './offline.tsx';
import { AuditPage } from './pages/audit.tsx';
import { BookingPage } from './pages/booking.tsx';
import { CalendarPage } from './pages/calendar.tsx';
import { InboxPage } from './pages/inbox.tsx';
import { Invite } from './pages/invite.tsx';
import { NotFound } from './pages/problems.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Link, useRouter } from './router.tsx';
import type { Me } from './types.ts';

const NAV = [
  { to: '/app/leads', label: 'Inbox', roles: ['owner', 'admin', 'member'] },
  { to: '/app/calendar', label: 'Calendar', roles: ['owner', 'admin', 'member'] },
  { to: '/app/settings', label: 'Settings', roles: ['owner', 'admin'] },
  { to: '/app/audit', label: 'Audit', roles: ['owner', 'admin', 'auditor'] },
];

/** The signed-in person (401: nobody). */
export function useMe() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const me = await request<Me>('/app/session');
        setCsrfToken(me.csrfToken);
        return me;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function App() {
  const router = useRouter();
  const me = useMe();
  const invite = /^\/app\/invite\/([^/]+)$/.exec(router.path);
  const live = useLiveEvents(!!me.data && !invite);
  const offline = useOffline();
  useEffect(() => {
    if (me.data && (router.path === '/app' || router.path === '/'))
      router.navigate(me.data.role === 'auditor' ? '/app/audit' : '/app/leads', { replace: true });
  }, [me.data, router]);
  if (invite) return <Invite token={decodeURIComponent(invite[1]!)} />;
  // Opened with no connection: nobody's session can be asked for; the shell says so (no data is kept offline).
  if (!me.data && offline) return <OfflineShell />;
  if (me.isPending) return <p className="loading">Loading…</p>;
  if (!me.data) return <SignIn />;
  return (
    <Shell me={me.data} live={live}>
      <Page me={me.data} />
    </Shell>
  );
}

function Page({ me }: { me: Me }) {
  const { path } = useRouter();
  let m: RegExpExecArray | null;
  if (path === '/app/leads') return <InboxPage me={me} leadId={null} />;
  if ((m = /^\/app\/leads\/([^/]+)$/.exec(path))) return <InboxPage me={me} leadId={m[1]!} />;
  if (path === '/app/calendar') return <CalendarPage me={me} />;
  if ((m = /^\/app\/bookings\/([^/]+)$/.exec(path))) return <BookingPage me={me} bookingId={m[1]!} />;
  if (path === '/app/settings') return <SettingsPage me={me} />;
  if (path === '/app/audit') return <AuditPage me={me} />;
  if (path === '/app' || path === '/') return null;
  return <NotFound />;
}

function Shell({ me, live, children }: { me: Me; live: ReturnType<typeof useLiveEvents>; children: React.ReactNode }) {
  const { path, navigate } = useRouter();
  const queryClient = useQueryClient();
  useDocumentTitle(NAV.find((n) => path.startsWith(n.to))?.label ?? (path.startsWith('/app/bookings') ? 'Visit' : ''), useArrivalAlerts());
  const offline = useOffline();
  const signOut = async (everywhere: boolean) => {
    await request(everywhere ? '/app/sessions' : '/app/session', { method: 'DELETE' });
    setCsrfToken(null);
    queryClient.clear();
    navigate('/app', { replace: true });
    await queryClient.invalidateQueries({ queryKey: ['session'] });
  };
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">CallSnare</span>
        <nav aria-label="Main">
          {NAV.filter((n) => n.roles.includes(me.role)).map((n) => (
            <Link key={n.to} to={n.to} className="nav" aria-current={path.startsWith(n.to) ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="spacer" />
        {offline ? <OfflineIndicator /> : <LiveIndicator state={live} />}
        <span className="who" data-testid="who">
          {me.orgName} · {me.email} ({me.role})
        </span>
        <button type="button" className="link" disabled={offline} onClick={() => void signOut(false)}>
          Sign out
        </button>
        <button type="button" className="link" disabled={offline} onClick={() => void signOut(true)}>
          Sign out everywhere
        </button>
      </header>
      {offline && <OfflineBanner />}
      <main id="main" tabIndex={-1}>
        {/* Offline, every button and form of the screen is disabled at once (links still move between screens). */}
        <fieldset className="offline-guard" disabled={offline} data-testid="offline-guard">
          {children}
        </fieldset>
      </main>
    </div>
  );
}
