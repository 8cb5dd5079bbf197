// The web app's service worker, served at /app/sw.js with scope /app/ (CONTRACT §10, installable on a
// phone). It keeps one thing offline: the app shell of this build — the page, its script and stylesheet,
// the manifest and the icons — in a cache named after the build's hash, so a new build (a new worker)
// replaces the old cache. Nothing else is ever cached or answered by it: sign-in and session calls, the
// API, the live feed and every non-GET request go to the network as if there were no worker, so a change
// is never queued or replayed, and no lead's data is ever stored on the device.

/** Defined by bin/build-client.js: this build's hash and the files of its bundle and icons. */
declare const SHELL_BUILD: { version: string; assets: string[]; icons: string[] };

// The worker's own global scope: the client's TypeScript settings know the page (DOM), not workers.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}
const worker = self as unknown as WorkerScope;

const PREFIX = 'callsnare-shell-';
const CACHE = `${PREFIX}${SHELL_BUILD.version}`;
/** The page shell: the server answers the same page at every /app path; the router picks the screen. */
const SHELL = '/app';
const PRECACHE = [
  SHELL,
  '/app/manifest.webmanifest',
  ...SHELL_BUILD.assets.map((f) => `/app/assets/${f}`),
  ...SHELL_BUILD.icons.map((f) => `/app/icons/${f}`),
];
const CACHED = new Set(PRECACHE.filter((url) => url !== SHELL));

worker.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload', credentials: 'same-origin' })));
      await worker.skipWaiting();
    })(),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      await worker.clients.claim();
    })(),
  );
});

worker.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  // Opening a screen: the network's page when it answers (always this server's newest), the cached shell
  // when it does not. The shell then shows the app offline.
  if (request.mode === 'navigate' && (url.pathname === SHELL || url.pathname.startsWith(`${SHELL}/`))) {
    event.respondWith(
      fetch(request).catch(async () => {
        const shell = await caches.match(SHELL, { cacheName: CACHE });
        if (shell) return shell;
        throw new TypeError('offline, and the app shell is not cached');
      }),
    );
    return;
  }
  // The bundle, manifest and icons of this build: the cache first, they never change under one build.
  if (CACHED.has(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit ?? fetch(request)));
  }
});

// A module, so the worker's types above stay out of the page's global types.
export {};
