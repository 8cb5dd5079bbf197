import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTIONS, type Action, type ActionStatus, DISCOVERY_LINKS, GROUPS, PRINCIPLES, actionsOf } from './catalog.ts';

/** The service's public base URL: PUBLIC_BASE_URL, or the address the request came to. */
export function baseUrlOf(request: FastifyRequest): string {
  const configured = request.server.services.config.PUBLIC_BASE_URL;
  return configured ? configured.replace(/\/+$/, '') : `${request.protocol}://${request.host}`;
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STATUSES: readonly ActionStatus[] = ['live_protected', 'live_internal', 'planned'];

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #4a5567; --line: #d5dbe4; --accent: #0b5cad; --bg: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem; }
main { padding-top: 0; }
header p.crumbs { margin: 0; color: var(--muted); }
h1 { font-size: 1.75rem; margin: .25rem 0 .5rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.1rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
a { color: var(--accent); }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.counts li { background: #fff; border: 1px solid var(--line); border-radius: .5rem; padding: .4rem .75rem; }
.principles { padding-left: 1.25rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); gap: 1rem; padding: 0; list-style: none; }
.card { background: #fff; border: 1px solid var(--line); border-radius: .75rem; padding: 1rem; min-width: 0; }
.card dl { margin: .5rem 0 0; }
.card dt { font-weight: 600; margin-top: .5rem; }
.card dd { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: .8rem; font-weight: 600; border-radius: 1rem; padding: .1rem .6rem; background: #e6effa; color: #0a4a8a; }
.badge.planned { background: #fdf0d8; color: #6b4500; }
.badge.live_internal { background: #e8f3ea; color: #1d5a2a; }
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function card(action: Action): string {
  const fields: [string, string][] = [
    ['Use when', action.useWhen],
    ['Surface', action.surface],
    ['Result', action.result],
    ['Permissions', action.permissions],
    ['Idempotency', action.idempotency],
  ];
  const extra: string[] = [];
  if (action.routes) extra.push(`<dt>Routes</dt><dd>${action.routes.map((r) => `<code>${escape(r)}</code>`).join('<br>')}</dd>`);
  if (action.scopes?.length) extra.push(`<dt>Scopes</dt><dd>${action.scopes.map((s) => `<code>${escape(s)}</code>`).join(', ')}</dd>`);
  if (action.implementedBy) {
    extra.push(
      `<dt>Implemented by</dt><dd>${action.implementedBy
        .map((i) => `${escape(i.kind.replace('_', ' '))}: <code>${escape(i.ref)}</code>${i.note ? ` (${escape(i.note)})` : ''}`)
        .join('<br>')}</dd>`,
    );
  }
  if (action.enable) extra.push(`<dt>Enable</dt><dd>${escape(action.enable)}</dd>`);
  const badge = action.status === 'planned' ? 'Planned — not callable today' : GROUPS[action.status].heading;
  return `<li class="card" id="${action.name}">
<h3>${escape(action.title)}</h3>
<p><code>${action.name}</code> <span class="badge ${action.status}">${escape(badge)}</span></p>
<p>${escape(action.summary)}</p>
<dl>${fields.map(([k, v]) => `<dt>${k}</dt><dd>${escape(v)}</dd>`).join('')}${extra.join('')}</dl>
</li>`;
}

/** The docs page: the action model as server-rendered HTML (no script). */
export function docsPage(base: string): string {
  const counts = STATUSES.map((s) => `<li><strong>${actionsOf(s).length}</strong> ${escape(GROUPS[s].heading.toLowerCase())}</li>`);
  const sections = STATUSES.map((status) => {
    const id = status.replace('_', '-');
    const heading = status === 'planned' ? 'Planned — not callable today' : GROUPS[status].heading;
    return `<section aria-labelledby="${id}">
<h2 id="${id}">${escape(heading)} (${actionsOf(status).length})</h2>
<p>${escape(GROUPS[status].blurb)}</p>
<ul class="cards">${actionsOf(status).map(card).join('\n')}</ul>
</section>`;
  });
  const link = (path: string, text: string) => `<a href="${escape(path)}">${escape(text)}</a> (<code>${escape(base + path)}</code>)`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Docs / Actions — CallSnare</title>
<link rel="alternate" type="application/json" href="${DISCOVERY_LINKS.catalog}">
<style>${STYLE}</style>
</head>
<body>
<header>
<p class="crumbs">Docs / Actions</p>
<h1>The CallSnare action model</h1>
<p>CallSnare recovers missed calls for residential HVAC businesses: a missed caller is texted back, the conversation becomes a lead, the lead a booked visit, and the customer gets a confirmation and reminders. These are the actions it knows.</p>
</header>
<main>
<section aria-labelledby="principles">
<h2 id="principles">Principles</h2>
<ol class="principles">${PRINCIPLES.map((p) => `<li><strong>${escape(p.title)}.</strong> ${escape(p.text)}</li>`).join('')}</ol>
<ul class="counts" aria-label="Action counts">${counts.join('')}</ul>
</section>
${sections.join('\n')}
<section aria-labelledby="agent-access">
<h2 id="agent-access">Agent access: the current boundary between public discovery and protected machine work</h2>
<p>Discovering needs nothing; acting needs an org-scoped token (<code>cs_live_…</code>) that an operator mints with <code>npx callsnare token create</code>.</p>
<ul>
<li>This catalog as JSON: ${link(DISCOVERY_LINKS.catalog, 'action catalog')}</li>
<li>OpenAPI 3.1 of the protected API: ${link(DISCOVERY_LINKS.openapi, 'OpenAPI document')}</li>
<li>MCP server for AI agents (Streamable HTTP, Bearer token): <code>${escape(base + DISCOVERY_LINKS.mcp)}</code></li>
<li>Map for agents: ${link(DISCOVERY_LINKS.llms, 'llms.txt')}</li>
<li>Machine index (RFC 9727): ${link(DISCOVERY_LINKS.apiCatalog, 'API catalog')}</li>
<li>Protected resource metadata (RFC 9728): ${link(DISCOVERY_LINKS.protectedResource, 'OAuth protected resource')}</li>
</ul>
</section>
</main>
</body>
</html>
`;
}

/** `llms.txt`: a Markdown map for agents. */
export function llmsTxt(base: string): string {
  const line = (a: Action) =>
    `- \`${a.name}\`: ${a.summary}${a.scopes ? ` Scopes: ${a.scopes.length ? a.scopes.join(', ') : 'any valid token'}.` : ''} Surface: ${a.surface}.`;
  return `# CallSnare

> Event-sourced missed-call recovery for residential HVAC businesses: a missed caller is texted back, the conversation becomes a lead, the lead a booked visit, and the customer gets a confirmation and reminders.

Discovery is public; acting needs an org-scoped token (\`Authorization: Bearer cs_live_...\`, minted by an operator with \`npx callsnare token create --org <ORG_ID> --scopes READ_BOOKINGS,WRITE_BOOKINGS --label <LABEL>\`). Its scopes decide which actions it may take; another org's data is never found.

## Action model (${actionsOf('live_protected').length} live protected, ${actionsOf('live_internal').length} live internal, ${actionsOf('planned').length} planned)

### Live protected (callable with a token: protected API and MCP)
${actionsOf('live_protected').map(line).join('\n')}

### Live internal (inside the product, not callable)
${actionsOf('live_internal').map(line).join('\n')}

### Planned (not callable today unless an operator enables one for an org)
${actionsOf('planned').map(line).join('\n')}

## Where things are

- [Docs page: the action model](${base}${DISCOVERY_LINKS.docs})
- [Action catalog (JSON)](${base}${DISCOVERY_LINKS.catalog})
- [OpenAPI 3.1 of the protected API](${base}${DISCOVERY_LINKS.openapi}): base URL ${base}${DISCOVERY_LINKS.api}
- [MCP endpoint](${base}${DISCOVERY_LINKS.mcp}): Model Context Protocol over Streamable HTTP (POST, stateless, JSON responses), same Bearer token; write tools take a required \`idempotencyKey\`
- [OAuth protected resource metadata (RFC 9728)](${base}${DISCOVERY_LINKS.protectedResource})
- [API catalog (RFC 9727)](${base}${DISCOVERY_LINKS.apiCatalog})
`;
}

/** RFC 9727 linkset: the machine index of the above. */
export function apiCatalog(base: string) {
  return {
    linkset: [
      {
        anchor: `${base}${DISCOVERY_LINKS.api}`,
        'service-desc': [{ href: `${base}${DISCOVERY_LINKS.openapi}`, type: 'application/vnd.oai.openapi+json;version=3.1' }],
        'service-doc': [{ href: `${base}${DISCOVERY_LINKS.docs}`, type: 'text/html' }],
        'service-meta': [
          { href: `${base}${DISCOVERY_LINKS.catalog}`, type: 'application/json', title: 'Action catalog' },
          { href: `${base}${DISCOVERY_LINKS.llms}`, type: 'text/markdown', title: 'llms.txt' },
          { href: `${base}${DISCOVERY_LINKS.protectedResource}`, type: 'application/json', title: 'OAuth protected resource metadata' },
        ],
      },
      {
        anchor: `${base}${DISCOVERY_LINKS.mcp}`,
        'service-doc': [{ href: `${base}${DISCOVERY_LINKS.llms}`, type: 'text/markdown' }],
        'service-meta': [{ href: `${base}${DISCOVERY_LINKS.protectedResource}`, type: 'application/json' }],
      },
    ],
  };
}

/** RFC 9728 metadata of the protected resources (protected API and MCP): Bearer tokens in the header. */
export function protectedResourceMetadata(base: string) {
  return {
    resource: `${base}${DISCOVERY_LINKS.mcp}`,
    resource_name: 'CallSnare',
    bearer_methods_supported: ['header'],
    scopes_supported: [...new Set(ACTIONS.flatMap((a) => ('scopes' in a ? a.scopes : [])))],
    resource_documentation: `${base}${DISCOVERY_LINKS.docs}`,
  };
}

/** Public discovery (no auth): the catalog, the docs page, llms.txt and the well-known documents. */
export async function discoveryRoutes(app: FastifyInstance): Promise<void> {
  const hide = { schema: { hide: true } };
  app.get(DISCOVERY_LINKS.catalog, hide, async () => ({ data: ACTIONS }));
  app.get(DISCOVERY_LINKS.docs, hide, async (request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin')
      .send(docsPage(baseUrlOf(request))),
  );
  app.get(DISCOVERY_LINKS.llms, hide, async (request, reply) =>
    reply.header('content-type', 'text/markdown; charset=utf-8').send(llmsTxt(baseUrlOf(request))),
  );
  app.get(DISCOVERY_LINKS.apiCatalog, hide, async (request, reply) =>
    reply
      .header('content-type', 'application/linkset+json; profile="https://www.rfc-editor.org/info/rfc9727"')
      .send(JSON.stringify(apiCatalog(baseUrlOf(request)))),
  );
  app.get(DISCOVERY_LINKS.protectedResource, hide, async (request) => protectedResourceMetadata(baseUrlOf(request)));
  app.get(`${DISCOVERY_LINKS.protectedResource}${DISCOVERY_LINKS.mcp}`, hide, async (request) =>
    protectedResourceMetadata(baseUrlOf(request)),
  );
}
