/** Runs the local router and two backends answering their colour; prints {url, port, stateFile}; stops when stdin ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLocalRouter } from '../../src/adapters/providers/local/router.js';

async function backend(name: string): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-bench-router-'));
const stateFile = path.join(dir, 'router.json');
const blue = await backend('blue');
const green = await backend('green');
const router = await startLocalRouter({ listen: { host: '127.0.0.1', port: 0 }, upstreams: { blue: [blue.url], green: [green.url] }, stateFile });
const port = Number(new URL(router.url).port);
process.stdout.write(`${JSON.stringify({ url: `${router.url}/`, port, stateFile })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await router.close();
  blue.server.closeAllConnections();
  green.server.closeAllConnections();
  blue.server.close();
  green.server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
