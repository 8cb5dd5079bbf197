import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ClientBuild } from '../../../bin/build-client.js';
import { problems } from '../common/problem.ts';

/** The app's colour in the phone's title bar and splash screen (the top bar's). */
export const THEME_COLOR = '#14213d';

/** The web app manifest (CONTRACT §10): added to a home screen, the app opens to the inbox, standalone. */
export const WEB_APP_MANIFEST = {
  id: '/app/',
  name: 'CallSnare',
  short_name: 'CallSnare',
  description: 'Missed calls, texts and bookings of your team',
  start_url: '/app/leads',
  scope: '/app/',
  display: 'standalone',
  background_color: '#f5f6f8',
  theme_color: THEME_COLOR,
  icons: [
    { src: '/app/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/app/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    // The glyph sits inside the middle 80%: a phone may crop the icon to its own shape.
    { src: '/app/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    { src: '/app/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
  ],
} as const;

// The worker's own policy (a worker's script response sets it): it fetches only from this origin.
const WORKER_CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'";

const iconParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]+$/) });

/**
 * What makes the app installable: the manifest, the service worker and the icons. Anyone may fetch them,
 * signed in or not: they hold no data of any org (the same bytes for everyone), and a phone fetches them
 * without the session. Neither the manifest nor the worker is cached for long, so a new build reaches
 * phones at their next visit.
 */
export const installRoutes: FastifyPluginAsyncZod<{ current: () => ClientBuild }> = async (app, { current }) => {
  const manifest = JSON.stringify(WEB_APP_MANIFEST);
  app.get('/app/manifest.webmanifest', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/manifest+json; charset=utf-8').header('cache-control', 'no-cache').send(manifest),
  );

  app.get('/app/sw.js', { schema: { hide: true } }, async (_request, reply) => {
    const build = current();
    const body = await readFile(path.join(build.dir, build.serviceWorker));
    return reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('service-worker-allowed', '/app/')
      .header('content-security-policy', WORKER_CSP)
      .send(body);
  });

  app.get('/app/icons/:name', { schema: { params: iconParams, hide: true } }, async (request, reply) => {
    const build = current();
    const type = build.icons.get(request.params.name);
    if (!type) throw problems.notFound('icon');
    const body = await readFile(path.join(build.dir, request.params.name));
    return reply.header('content-type', type).header('cache-control', 'public, max-age=86400').send(body);
  });
};
