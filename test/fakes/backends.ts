/** Two tiny HTTP backends that answer with their colour, and a GET that never reuses a connection. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  port: number;
  url: string;
  /** Requests answered so far. */
  hits: () => number;
  close: () => Promise<void>;
}

/** An HTTP server on 127.0.0.1 answering `name` to every request (after `delayMs`, if set). */
export async function startBackend(name: string, options: { delayMs?: number } = {}): Promise<Backend> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    const answer = () => {
      res.setHeader('content-type', 'text/plain');
      res.end(req.url === '/REVISION' ? `${name.padEnd(40, '0').slice(0, 40)}\n` : name);
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GET over a fresh connection; resolves with status and body. */
export function httpGet(url: string, options: { agent?: http.Agent; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: options.agent ?? false, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
