import http from 'node:http';

/** One Server-Sent Events message as a raw client parses it. */
export interface SseMessage {
  readonly id?: string;
  readonly event?: string;
  readonly data: string;
}

/** A raw HTTP SSE client: collects messages and comment lines; `waitFor` polls what arrived. */
export interface SseConnection {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly messages: SseMessage[];
  readonly comments: string[];
  waitFor(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `GET url` and parses the event stream by the SSE rules (id/event/data fields, blank line ends a message). */
export function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      let buffer = '';
      let current: { id?: string; event?: string; data: string[] } = { data: [] };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (current.data.length || current.id !== undefined || current.event !== undefined) {
              messages.push({
                ...(current.id !== undefined && { id: current.id }),
                ...(current.event !== undefined && { event: current.event }),
                data: current.data.join('\n'),
              });
            }
            current = { data: [] };
          } else if (line.startsWith(':')) comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') current.id = value;
            else if (field === 'event') current.event = value;
            else if (field === 'data') current.data.push(value);
          }
        }
      });
      res.on('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        comments,
        async waitFor(predicate, timeoutMs = 20_000) {
          const deadline = Date.now() + timeoutMs;
          while (!predicate(messages)) {
            if (Date.now() > deadline) throw new Error(`SSE: condition not met in ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}
