import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { buildClient, type ClientBuild } from '../../../bin/build-client.js';
import { problems } from '../common/problem.ts';
import { THEME_COLOR, installRoutes } from './install.ts';

const assetParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]+$/) });

// The page shell only loads our own bundle; nothing inline, no other origin, never framed.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The page shell and its bundle, from the client build made at install (bin/build.js). Anyone may load
 * them: the page holds no data; it asks the session routes who is signed in.
 */
export const pageRoutes: FastifyPluginAsyncZod = async (app) => {
  const { log } = app.services;
  // Read (or, in a checkout whose client sources changed since install, built) once at start-up, never at a request.
  let build: ClientBuild | undefined;
  try {
    const result = await buildClient();
    if (result.built)
      log.warn({ sourceHash: result.build.sourceHash }, 'client sources changed since the install build; built them at start-up');
    build = result.build;
  } catch (error) {
    log.error({ err: error }, 'the web app client could not be built; /app answers 503');
  }
  const current = (): ClientBuild => {
    if (!build) throw problems.unavailable('the web app is not built on this server (see its log)');
    return build;
  };
  await app.register(installRoutes, { current });

  app.get('/app/assets/:name', { schema: { params: assetParams, hide: true } }, async (request, reply) => {
    const build = current();
    const type = build.files.get(request.params.name);
    if (!type) throw problems.notFound('asset');
    const body = await readFile(path.join(build.dir, request.params.name));
    return reply.header('content-type', type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });

  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    const build = current();
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CallSnare</title>
<meta name="theme-color" content="${THEME_COLOR}">
<link rel="manifest" href="/app/manifest.webmanifest">
<link rel="icon" href="/app/icons/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/app/icons/icon-192.png">
<link rel="stylesheet" href="/app/assets/${build.stylesheet}">
<script type="module" src="/app/assets/${build.script}"></script>
</head>
<body><div id="root"></div></body>
</html>
`;
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin')
      .send(html);
  };
  // The invite token is in this URL, and request logs carry the URL: log it only from warn up.
  const quiet = { logLevel: 'warn' as const };
  app.get('/app', { schema: { hide: true } }, page);
  app.get('/app/*', { schema: { hide: true } }, page);
  app.get('/app/invite/:token', { ...quiet, schema: { hide: true } }, page);
};
