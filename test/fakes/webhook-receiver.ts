/**
 * Webhooks for notification tests on 127.0.0.1: `/good/...` answers 200 and checks each body's
 * X-Bluegreen-Signature against the secret, `/fail/...` answers 500, `/refuse/...` 404, `/hang/...` never answers
 * (until closed).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  body: any;
  /** The signature header verified against the secret. */
  signed: boolean;
}

export interface WebhookReceiver {
  base: string;
  port: number;
  /** Bodies answered 200 on /good/, in arrival order. */
  good: Received[];
  /** Requests to /fail/, /refuse/ and /hang/. */
  failed: number;
  refused: number;
  hanging: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const receiver = { good: [] as Received[], failed: 0, refused: 0, hanging: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = req.url ?? '';
      if (path.startsWith('/hang/')) {
        receiver.hanging += 1;
        return;
      }
      if (path.startsWith('/refuse/')) {
        receiver.refused += 1;
        res.writeHead(404).end('no such hook');
        return;
      }
      if (path.startsWith('/fail/')) {
        receiver.failed += 1;
        res.writeHead(500).end('down');
        return;
      }
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-bluegreen-signature'] ?? ''));
      receiver.good.push({ path, body: JSON.parse(raw.toString('utf8')), signed: given.length === expected.length && timingSafeEqual(given, expected) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
