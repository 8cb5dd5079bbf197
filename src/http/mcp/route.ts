import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  ClientRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ACTIONS, DISCOVERY_LINKS, howToEnable } from '../discovery/catalog.ts';
import { baseUrlOf } from '../discovery/routes.ts';
import { authenticate, authOf } from '../plugins/authentication.ts';
import { problemDocument, toProblem } from '../plugins/errors.ts';
import { limitPerCaller, type RateLimitOptions } from '../plugins/rate-limit.ts';
import { type FieldError, ProblemError, problems } from '../common/problem.ts';
import { unstorableText } from '../common/validation.ts';
import { asHttpJson, mcpCallerOf, toolSchema, toolsFor } from './tools.ts';

/** JSON-RPC error codes (JSON-RPC 2.0 §5.1; -32000..-32099 are the server's own). */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;
const SERVER_ERROR = -32000;

type JsonRpcId = string | number | null;

function jsonRpcError(reply: FastifyReply, status: number, id: JsonRpcId, code: number, message: string, data?: unknown) {
  return reply
    .code(status)
    .type('application/json')
    .send({ jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined && { data }) } });
}

/** The request's JSON-RPC id when it sent one, for error responses. */
function idOf(body: unknown): JsonRpcId {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** `WWW-Authenticate` of a 401 on /mcp: where the RFC 9728 metadata is, and why the token failed. */
function challenge(request: FastifyRequest, problem: ProblemError): string {
  const metadata = `${baseUrlOf(request)}${DISCOVERY_LINKS.protectedResource}`;
  return `Bearer realm="callsnare", resource_metadata="${metadata}"${problem.code === 'invalid_token' ? ', error="invalid_token"' : ''}`;
}

/**
 * Errors of /mcp as JSON-RPC error responses with the HTTP status of the problem: an unreadable body is
 * -32700 (parse error), an oversized, mistyped or otherwise unacceptable request -32600, authentication and
 * rate limits -32000 with their headers (`WWW-Authenticate` names the protected resource metadata).
 */
function mcpErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const problem = toProblem(error);
  for (const [name, value] of Object.entries(problem.extra.headers ?? {})) reply.header(name, value);
  if (problem.status === 401) reply.header('www-authenticate', challenge(request, problem));
  if (problem.status >= 500) request.log.error({ err: error }, 'mcp request failed');
  const parse =
    problem.status === 400 &&
    (error instanceof SyntaxError || (error as { code?: unknown }).code?.toString().startsWith('FST_ERR_CTP') === true);
  const code = parse ? PARSE_ERROR : [400, 413, 415].includes(problem.status) ? INVALID_REQUEST : SERVER_ERROR;
  const data = { code: problem.code, requestId: request.id, ...(problem.extra.errors && { errors: problem.extra.errors }) };
  return jsonRpcError(reply, problem.status, null, code, parse ? `Parse error: ${problem.message}` : problem.message, data);
}

/** A problem as an MCP tool error result: the problem document as text (no structured content: that is for results). */
function errorResult(request: FastifyRequest, problem: ProblemError): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(problemDocument(request, problem)) }] };
}

/** The zod issues of a tool's arguments as the HTTP API's field errors (`arguments.customer.phone`). */
function argumentErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: ['arguments', ...issue.path.map(String)].join('.'), message: issue.message }));
}

/** One MCP server for one request (stateless): the tools of the request's token, run as its actor via MCP. */
async function mcpServerFor(request: FastifyRequest): Promise<McpServer> {
  const tools = await toolsFor(request);
  const mcp = new McpServer(
    { name: 'callsnare', title: 'CallSnare', version: '1.0.0' },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        'CallSnare bookings for one org (the token’s). Write tools take a required idempotencyKey: reuse it to retry safely. See /llms.txt and /docs/actions.',
    },
  );
  // The low-level handlers: the tools (and the error for a tool outside the scopes) depend on the request's token.
  const server = mcp.server;
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools
      .filter((t) => t.missingScope === null)
      .map(({ tool, action }) => ({
        name: action.name,
        title: action.title,
        description: `${action.summary} Use when: ${action.useWhen} Idempotency: ${action.idempotency}`,
        inputSchema: toolSchema(tool.input, 'input'),
        outputSchema: toolSchema(tool.output, 'output'),
        annotations: { title: action.title, ...action.toolAnnotations },
      })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (call): Promise<CallToolResult> => {
    const access = tools.find((t) => t.action.name === call.params.name);
    if (!access) {
      const planned = ACTIONS.find((a) => a.name === call.params.name && a.status === 'planned');
      throw new McpError(
        ErrorCode.InvalidParams,
        planned
          ? `Unknown tool: ${planned.name} is a planned action not enabled for this org; ${howToEnable(planned.name)}`
          : `Unknown tool: ${call.params.name} (tools/list names the tools this token may call)`,
      );
    }
    if (access.missingScope) {
      return errorResult(
        request,
        new ProblemError(403, 'insufficient_scope', 'Forbidden', `this token lacks the ${access.missingScope} scope`),
      );
    }
    const raw = call.params.arguments ?? {};
    const unstorable = unstorableText(raw, 'arguments');
    if (unstorable.length > 0) return errorResult(request, problems.validation(unstorable));
    const parsed = access.tool.input.safeParse(raw);
    if (!parsed.success) return errorResult(request, problems.validation(argumentErrors(parsed.error)));
    try {
      const result = asHttpJson(access.tool.output, await access.tool.run(request, parsed.data as never, mcpCallerOf(request)));
      return { structuredContent: result, content: [{ type: 'text', text: JSON.stringify(result) }] };
    } catch (error) {
      const problem = toProblem(error);
      if (problem.status >= 500) request.log.error({ err: error, tool: access.action.name }, 'mcp tool failed');
      return errorResult(request, problem);
    }
  });
  return mcp;
}

/** The client requests the SDK knows, by method: their params are checked here (the SDK would call a bad one an internal error). */
const REQUESTS = new Map(ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema] as const));

/** Why a known request's params are not what its method takes, or null. */
function invalidParams(body: object): string | null {
  const { method, id } = body as { method?: unknown; id?: unknown };
  if (id === undefined || typeof method !== 'string') return null;
  const schema = REQUESTS.get(method);
  const parsed = schema?.safeParse(body);
  if (!parsed || parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.join('.') || 'params'}: ${issue.message}`;
}

/** Request headers the transport reads. */
const FORWARDED = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id'];

/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, stateless, JSON responses (CONTRACT §6),
 * with the protected API's Bearer tokens and rate limit. GET and DELETE are 405 (no session, no stream).
 */
export async function mcpRoutes(app: FastifyInstance, options: { rateLimit: RateLimitOptions }): Promise<void> {
  app.setErrorHandler(mcpErrorHandler);
  app.route({
    method: ['GET', 'DELETE', 'PUT', 'PATCH'],
    url: DISCOVERY_LINKS.mcp,
    schema: { hide: true },
    handler: (request, reply) =>
      jsonRpcError(
        reply.header('allow', 'POST'),
        405,
        null,
        SERVER_ERROR,
        `Method not allowed: ${request.method} (this MCP server is stateless: POST only)`,
      ),
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticate('integration'));
    await limitPerCaller(scope, options.rateLimit, (request) => authOf(request).credentialId);
    scope.post(DISCOVERY_LINKS.mcp, { schema: { hide: true } }, async (request, reply) => {
      const body = request.body;
      if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
        return jsonRpcError(
          reply,
          415,
          null,
          INVALID_REQUEST,
          'Unsupported Media Type: send the JSON-RPC message with Content-Type: application/json',
        );
      }
      if (Array.isArray(body)) {
        return jsonRpcError(
          reply,
          400,
          null,
          INVALID_REQUEST,
          'Invalid Request: batch requests are not supported; send one JSON-RPC message per POST',
        );
      }
      if (body === null || typeof body !== 'object') {
        return jsonRpcError(reply, 400, null, INVALID_REQUEST, 'Invalid Request: the body must be one JSON-RPC message (an object)');
      }
      const unstorable = unstorableText(body, 'body');
      if (unstorable.length > 0) {
        return jsonRpcError(reply, 400, idOf(body), INVALID_PARAMS, `Invalid params: ${unstorable[0]!.path} ${unstorable[0]!.message}`, {
          code: 'validation_failed',
          requestId: request.id,
          errors: unstorable,
        });
      }
      const invalid = invalidParams(body);
      if (invalid) {
        return jsonRpcError(reply, 200, idOf(body), INVALID_PARAMS, `Invalid params: ${invalid}`, { requestId: request.id });
      }
      const headers = new Headers();
      for (const name of FORWARDED) {
        const value = request.headers[name];
        if (typeof value === 'string') headers.set(name, value);
      }
      const server = await mcpServerFor(request);
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      try {
        await server.connect(transport);
        const response = await transport.handleRequest(
          new Request(`${baseUrlOf(request)}${DISCOVERY_LINKS.mcp}`, { method: 'POST', headers }),
          { parsedBody: body },
        );
        response.headers.forEach((value, name) => {
          if (name !== 'content-length') reply.header(name, value);
        });
        const text = await response.text();
        return await reply.code(response.status).send(text.length > 0 ? text : undefined);
      } finally {
        await server.close();
      }
    });
  });
}
