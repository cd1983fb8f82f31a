/**
 * A flip to a colour of several hosts verifies every one of them before traffic moves (real HTTP hosts on
 * loopback; a recording provider stands for the traffic switch).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Provider } from '../../src/adapters/providers/provider.js';
import { appendHistory } from '../../src/adapters/state/history.js';
import { parseConfig } from '../../src/core/config.js';
import { runFlip } from '../../src/flip/run-flip.js';
import { startBackend } from '../fakes/backends.js';

const GREEN = 'abc'.padEnd(40, '0');

async function unhealthyHost(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(500).end('broken'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

t.test('one unhealthy host of the target refuses the flip, naming it; traffic never moves', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-flip-fleet-'));
  const good = await startBackend('abc');
  const bad = await unhealthyHost();
  t.teardown(async () => {
    await good.close();
    await bad.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const parsed = parseConfig(
    {
      BLUEGREEN_DATA_DIR: dataDir,
      BLUE_HOST: 'ssh://deploy@10.0.0.1',
      GREEN_HOST: 'ssh://deploy@10.0.0.2,ssh://deploy@10.0.0.3',
      BLUE_URL: 'http://10.0.0.1/',
      GREEN_URL: `${good.url},${bad.url}`,
      BLUEGREEN_PUBLIC_URL: 'http://prod.example/',
      BLUEGREEN_VERIFY_TIMEOUT: '1',
    },
    '/work',
  );
  if (!parsed.config) throw new Error(parsed.errors.join('\n'));
  await appendHistory(dataDir, { type: 'deploy', at: new Date().toISOString(), colour: 'green', revision: GREEN, release: '20260101000000-abc000000000', by: 'alice', outcome: 'deployed', durationMs: 1 });
  const moves: string[] = [];
  const provider: Provider = { description: 'recording provider', liveColour: async () => 'blue', moveTraffic: async (colour) => void moves.push(colour), close: async () => {} };
  const said: string[] = [];
  await t.rejects(runFlip({ config: parsed.config, provider, target: 'green', by: 'alice', say: (line) => said.push(line) }), {
    message: new RegExp(`^refused: green's host ${bad.url.replace(/[.]/g, '\\.')} is not healthy: .*Production unchanged: blue is live`),
  });
  t.same(moves, [], 'traffic never moved');
  t.match(said.join('\n'), new RegExp(`check green at ${good.url.replace(/[.]/g, '\\.')}`), 'the healthy host was checked first');
});
