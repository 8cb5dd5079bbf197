import { useSyncExternalStore } from 'react';

/**
 * Whether the app can reach the server: the browser says it is online (navigator.onLine, kept up by the
 * `online`/`offline` events) and the last request did not fail for want of a network. While offline the
 * app shows it, its buttons and forms that change things are disabled, and `request` refuses to send a
 * change (api.ts): nothing is queued to be sent later, so no stale action reaches a caller.
 */
let networkFailed = false;
let probing: ReturnType<typeof setInterval> | undefined;
const listeners = new Set<() => void>();
const emit = () => {
  for (const listener of listeners) listener();
};

/** True while the server is out of reach. */
export function isOffline(): boolean {
  return !navigator.onLine || networkFailed;
}

/**
 * Records how the last request went: reached the server (any HTTP answer) or failed without one. After a
 * failure, a light request every few seconds finds out when the server answers again.
 */
export function noteNetwork(reached: boolean): void {
  if (networkFailed === !reached) return;
  networkFailed = !reached;
  if (reached && probing) {
    clearInterval(probing);
    probing = undefined;
  }
  if (!reached && !probing) probing = setInterval(() => void probe(), 5_000);
  emit();
}

// Not answered by the service worker (it never handles the session): any answer means the server is reachable.
async function probe() {
  if (!navigator.onLine) return;
  try {
    await fetch('/app/session', { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } });
    noteNetwork(true);
  } catch {
    // still out of reach
  }
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener('online', listener);
  window.addEventListener('offline', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('online', listener);
    window.removeEventListener('offline', listener);
  };
}

/** True while the app is offline; re-renders when that changes. */
export function useOffline(): boolean {
  return useSyncExternalStore(subscribe, isOffline);
}

/** The offline state as the top of every screen shows it; `children` replaces the usual explanation. */
export function OfflineBanner({ children }: { children?: React.ReactNode }) {
  return (
    <p className="offline-banner" role="status" data-testid="offline-banner">
      <strong>Offline.</strong>{' '}
      {children ?? (
        <>
          You&rsquo;re seeing what was already loaded. Replies, assignments and changes are paused until you&rsquo;re back online; nothing
          is sent later on its own.
        </>
      )}
    </p>
  );
}

/** Where the live indicator is, while offline. */
export function OfflineIndicator() {
  return (
    <span className="live live-offline" data-testid="live-indicator" data-state="offline">
      <span className="dot" aria-hidden="true" />
      Offline
    </span>
  );
}

/**
 * The app shell when it opens with no connection and nobody known to be signed in yet (the session is
 * never kept on the device): the top bar and the offline state; the inbox loads once the connection is back.
 */
export function OfflineShell() {
  return (
    <div className="shell" data-testid="offline-shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">CallSnare</span>
        <span className="spacer" />
        <OfflineIndicator />
        <button type="button" className="link" disabled>
          Sign out
        </button>
      </header>
      <OfflineBanner>CallSnare can&rsquo;t reach the server from here right now.</OfflineBanner>
      <main id="main" tabIndex={-1}>
        <h1>You&rsquo;re offline</h1>
        <p>Your inbox opens by itself as soon as you&rsquo;re back online. Nothing is sent while you&rsquo;re offline.</p>
      </main>
    </div>
  );
}
