import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

// ajv-formats is CommonJS: under ESM its function arrives as the default export's `default`.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as unknown as FormatsPlugin;

/** A response as light-my-request (or any HTTP client) gives it. */
export interface ObservedResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

interface HeaderObject {
  readonly required?: boolean;
  readonly schema?: Record<string, unknown>;
}
interface ResponseObject {
  readonly headers?: Record<string, HeaderObject>;
  readonly content?: Record<string, { schema?: unknown }>;
}
interface Document {
  readonly servers?: { url: string }[];
  readonly paths: Record<string, Record<string, { responses?: Record<string, ResponseObject> }>>;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/**
 * Checks real responses against an OpenAPI 3.1 document with Ajv's JSON Schema 2020-12 validator (the
 * dialect of OpenAPI 3.1): the route and status must be documented, the content type must be one the
 * response lists and the body must match its schema, required headers must be present, and every header
 * the document knows must be documented on the response that carries it and match its schema.
 */
export function openApiResponseValidator(document: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi.json');
  const base = new URL(document.servers?.[0]?.url ?? '/', 'http://x').pathname.replace(/\/$/, '');
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    regex: new RegExp(
      `^${template.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{[^}]+\}/g, '[^/]+')}$`,
    ),
  }));
  const known = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values(operation.responses ?? {}))
        for (const name of Object.keys(response.headers ?? {})) known.add(name.toLowerCase());
    }
  }
  const compiled = new Map<string, ValidateFunction>();
  const validator = (ref: string, schema?: object) => {
    let validate = compiled.get(ref);
    if (!validate) {
      validate = schema ? ajv.compile(schema) : ajv.compile({ $ref: `openapi.json#${ref}` });
      compiled.set(ref, validate);
    }
    return validate;
  };

  /** What is wrong with this response according to the document; empty when it conforms. */
  return function check(method: string, url: string, res: ObservedResponse): string[] {
    const path = new URL(url, 'http://x').pathname;
    if (!path.startsWith(`${base}/`)) return [`${url} is outside the document's server ${base}`];
    const local = path.slice(base.length);
    const found = templates.find((t) => t.regex.test(local));
    const operation = found && document.paths[found.template]![method.toLowerCase()];
    if (!found || !operation) return [`${method} ${local} is not documented`];
    const what = `${method} ${found.template} → ${res.statusCode}`;
    const status = String(res.statusCode);
    const response = operation.responses?.[status] ?? operation.responses?.[`${status[0]}XX`] ?? operation.responses?.default;
    if (!response) return [`${what}: status not documented (documented: ${Object.keys(operation.responses ?? {}).join(', ')})`];
    const problems: string[] = [];
    const responseRef = pointer(
      '',
      'paths',
      found.template,
      method.toLowerCase(),
      'responses',
      operation.responses?.[status] ? status : 'default',
    );

    const contentType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (response.content) {
      const media = response.content[contentType];
      if (!media)
        problems.push(
          `${what}: content type ${contentType || '(none)'} not documented (documented: ${Object.keys(response.content).join(', ')})`,
        );
      else if (media.schema) {
        let body: unknown;
        try {
          body = JSON.parse(res.body);
        } catch {
          problems.push(`${what}: body is not JSON`);
        }
        const validate = validator(`${responseRef}/${pointer('content', contentType, 'schema')}`);
        if (body !== undefined && !validate(body)) problems.push(`${what}: body does not match: ${ajv.errorsText(validate.errors)}`);
      }
    } else if (res.body.length > 0) problems.push(`${what}: a body where the document says none`);

    const documented = new Map(Object.entries(response.headers ?? {}).map(([name, h]) => [name.toLowerCase(), { name, ...h }]));
    for (const [name, header] of documented) {
      const value = res.headers[name];
      if (value === undefined) {
        if (header.required) problems.push(`${what}: required header ${header.name} missing`);
        continue;
      }
      if (!header.schema) continue;
      const type = header.schema.type;
      const typed = type === 'integer' || type === 'number' ? Number(value) : String(value);
      const validate = validator(`header:${JSON.stringify(header.schema)}`, header.schema);
      if (!validate(typed)) problems.push(`${what}: header ${header.name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)}`);
    }
    for (const name of Object.keys(res.headers)) {
      if (known.has(name) && !documented.has(name)) problems.push(`${what}: header ${name} is sent but not documented for this response`);
    }
    return problems;
  };
}

/** What {@link checkResponsesAgainstOpenApi} found so far. */
export interface OpenApiConformance {
  /** Responses of documented operations checked. */
  readonly checked: () => number;
  /** Every violation, `METHOD path → status: what`. */
  readonly problems: () => string[];
}

/**
 * From now on, every response `app.inject` returns for an operation of the protected API's published
 * document is checked against it (see {@link openApiResponseValidator}), so a test file's own requests,
 * whatever they are, also test the document. Requests to undocumented paths are left alone.
 */
export async function checkResponsesAgainstOpenApi(
  app: FastifyInstance,
  documentUrl = '/api/private/v1/openapi.json',
): Promise<OpenApiConformance> {
  const document = (await app.inject({ method: 'GET', url: documentUrl })).json() as Document;
  const check = openApiResponseValidator(document);
  const problems: string[] = [];
  let checked = 0;
  const inject = app.inject.bind(app) as (options: InjectOptions) => Promise<LightMyRequestResponse>;
  const wrapped = async (options: InjectOptions) => {
    const res = await inject(options);
    const method = String(options.method ?? 'GET').toUpperCase();
    const url = typeof options.url === 'string' ? options.url : String(options.path ?? '');
    const found = check(method, url, res);
    if (found.length === 1 && (found[0]!.endsWith('is not documented') || found[0]!.includes("outside the document's server"))) return res;
    checked++;
    problems.push(...found);
    return res;
  };
  (app as unknown as { inject: unknown }).inject = (options?: InjectOptions) =>
    options === undefined ? inject(options as never) : wrapped(options);
  return { checked: () => checked, problems: () => [...problems] };
}
