/**
 * An HTTP server on 127.0.0.1 that answers from a script, for the cloud client's tests: each request gets the
 * next step (the last one repeats), or the step a route names. A step is an answer, `hang` (never answers) or
 * `close` (drops the connection).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless a string. */
  body?: unknown;
}
export type Step = ScriptedAnswer | 'hang' | 'close' | ((request: SeenRequest) => ScriptedAnswer);

export interface SeenRequest {
  method: string;
  /** Path and query. */
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface ScriptedApi {
  url: string;
  requests: SeenRequest[];
  /** Steps for requests whose path starts with the key; others take `steps`. */
  routes: Record<string, Step[]>;
  close(): Promise<void>;
}

export async function startScriptedApi(steps: Step[]): Promise<ScriptedApi> {
  const requests: SeenRequest[] = [];
  const routes: Record<string, Step[]> = {};
  const taken = new Map<Step[], number>();
  const next = (list: Step[]): Step => {
    const i = taken.get(list) ?? 0;
    taken.set(list, i + 1);
    return list[Math.min(i, list.length - 1)]!;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '/',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      const route = Object.keys(routes).find((prefix) => seen.url.startsWith(prefix));
      const step = next(route ? routes[route]! : steps);
      if (step === 'hang') return;
      if (step === 'close') return req.socket.destroy();
      const answer = typeof step === 'function' ? step(seen) : step;
      const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
