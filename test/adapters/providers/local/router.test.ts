import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import {
  NOT_LIVE_MESSAGE,
  createLocalProvider,
  readRouterState,
  routerStateFile,
  startLocalRouter,
  writeRouterState,
} from '../../../../src/adapters/providers/local/router.js';
import type { Colour } from '../../../../src/core/colour.js';
import { type Backend, httpGet, startBackend } from '../../../fakes/backends.js';
import { compiledModule } from '../../../helpers/bluegreen.js';

async function setup(t: Test) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const router = await startLocalRouter({
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: { blue: [blue.url], green: [green.url] },
    dataDir,
  });
  const port = Number(new URL(router.url).port);
  const said: string[] = [];
  const provider = createLocalProvider({ listen: { host: '127.0.0.1', port }, dataDir, pollIntervalMs: 5 });
  t.teardown(async () => {
    await provider.close();
    await router.close();
    await blue.close();
    await green.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { dataDir, blue, green, router, port, provider, said, say: (line: string) => said.push(line) };
}

async function listenAny(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

t.test('before any flip the router answers 503 with a one-line explanation', async (t) => {
  const { router, provider } = await setup(t);
  const answer = await httpGet(router.url + '/anything');
  t.equal(answer.status, 503);
  t.equal(answer.body, `${NOT_LIVE_MESSAGE}\n`);
  t.equal(answer.body.trim(), 'no colour is live yet: run bluegreen flip blue');
  t.equal(await provider.liveColour(), undefined);
});

t.test('flip moves traffic; the status endpoint is answered by the router itself', async (t) => {
  const { router, provider, said, say, dataDir, blue, green } = await setup(t);
  t.equal(provider.description, `local router at ${router.url}`);
  await provider.moveTraffic('blue', say);
  t.equal((await httpGet(router.url + '/x?y=1')).body, 'blue');
  t.equal(await provider.liveColour(), 'blue');
  await provider.moveTraffic('green', say);
  t.equal((await httpGet(router.url + '/')).body, 'green');
  await provider.moveTraffic('green', say);
  t.same(said, [
    `local router at ${router.url}: switching from nothing to blue`,
    `local router at ${router.url} now routes to blue`,
    `local router at ${router.url}: switching from blue to green`,
    `local router at ${router.url} now routes to green`,
    `local router at ${router.url} already routes to green`,
  ]);
  const status = JSON.parse((await httpGet(router.url + '/.bluegreen/router')).body);
  t.same(status, { live: 'green', stateFile: routerStateFile(dataDir), pid: process.pid });
  t.equal(blue.hits() + green.hits(), 2, 'status requests never reach an upstream');
  t.match(await readRouterState(routerStateFile(dataDir)), { live: 'green', changedAt: /^\d{4}-/ });
});

t.test('in-flight requests complete on the old upstream', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slowBlue = await listenAny((_req, res) => void held.then(() => res.end('blue')));
  const green = await startBackend('green');
  const stateFile = routerStateFile(dataDir);
  await writeRouterState(stateFile, 'blue');
  const router = await startLocalRouter({
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: { blue: [`http://127.0.0.1:${slowBlue.port}`], green: [green.url] },
    stateFile,
  });
  t.teardown(async () => {
    await router.close();
    await slowBlue.close();
    await green.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const provider = createLocalProvider({ listen: { host: '127.0.0.1', port: Number(new URL(router.url).port) }, stateFile, pollIntervalMs: 5 });
  const inFlight = httpGet(router.url + '/slow');
  await new Promise((resolve) => setTimeout(resolve, 20)); // let it reach blue (not a timing assertion)
  await provider.moveTraffic('green', () => undefined);
  t.equal((await httpGet(router.url)).body, 'green');
  release();
  t.same(await inFlight, { status: 200, body: 'blue' });
});

t.test('20 flips under a concurrent request loop: no request fails', async (t) => {
  const { router, provider } = await setup(t);
  await provider.moveTraffic('blue', () => undefined);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const total = 2000;
  const concurrency = 6;
  const stopAt = Date.now() + 60_000; // a stop condition, not an assertion
  let sent = 0;
  const failures: string[] = [];
  const seen: Record<string, number> = {};
  let flipsDone = 0;
  const worker = async () => {
    while (sent < total && Date.now() < stopAt) {
      sent += 1;
      try {
        const { status, body } = await httpGet(router.url + `/r${sent}`, { agent });
        if (status !== 200 || (body !== 'blue' && body !== 'green')) failures.push(`${status} ${body}`);
        seen[body] = (seen[body] ?? 0) + 1;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  };
  const flipper = async () => {
    for (let i = 0; i < 20; i++) {
      const colour: Colour = i % 2 === 0 ? 'green' : 'blue';
      await provider.moveTraffic(colour, () => undefined);
      const { body } = await httpGet(router.url, { agent });
      if (body !== colour) failures.push(`after flip ${i + 1} to ${colour} got ${body}`);
      flipsDone += 1;
      while (sent < ((i + 1) * total) / 21 && Date.now() < stopAt) await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  await Promise.all([flipper(), ...Array.from({ length: concurrency }, worker)]);
  t.equal(flipsDone, 20);
  t.equal(sent, total);
  t.same(failures, []);
  t.ok((seen.blue ?? 0) > 0 && (seen.green ?? 0) > 0, `both colours served: ${JSON.stringify(seen)}`);
});

// A plain node process that flips like `bluegreen flip` would, with router.ts as built (dist/).
const FLIP_PROCESS = `
const [url, port, stateFile, colour] = process.argv.slice(1);
const { createLocalProvider } = await import(url);
const provider = createLocalProvider({ listen: { host: '127.0.0.1', port: Number(port) }, stateFile });
await provider.moveTraffic(colour, (line) => console.log(line));
console.log(\`live: \${await provider.liveColour()}\`);
`;

t.test('across processes: a separate flip process switches the running router', async (t) => {
  const { router, port, dataDir, provider } = await setup(t);
  const stateFile = routerStateFile(dataDir);
  const run = (colour: Colour) =>
    promisify(execFile)(process.execPath, ['--input-type=module', '-e', FLIP_PROCESS, compiledModule('src/adapters/providers/local/router.ts'), String(port), stateFile, colour], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  const first = await run('green');
  t.match(first.stdout, /now routes to green\nlive: green\n$/);
  t.equal((await httpGet(router.url)).body, 'green');
  t.equal(await provider.liveColour(), 'green');
  await run('blue');
  t.equal((await httpGet(router.url)).body, 'blue');
});

t.test('no router running: the colour is recorded, and a router started later routes there', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const free = await listenAny(() => undefined);
  await free.close();
  t.teardown(async () => {
    await blue.close();
    await green.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const provider = createLocalProvider({ listen: { host: '127.0.0.1', port: free.port }, dataDir });
  const said: string[] = [];
  t.equal(await provider.liveColour(), undefined);
  await provider.moveTraffic('green', (line) => said.push(line));
  t.same(said, [
    `no router is answering at http://127.0.0.1:${free.port}; recorded green in ${routerStateFile(dataDir)}: the router will route there when \`bluegreen serve\` starts`,
  ]);
  t.equal(await provider.liveColour(), 'green');
  const router = await startLocalRouter({ listen: { host: '127.0.0.1', port: free.port }, upstreams: { blue: [blue.url], green: [green.url] }, dataDir });
  t.teardown(() => router.close());
  t.equal((await httpGet(router.url)).body, 'green');
});

t.test('a router on 0.0.0.0 is reached through 127.0.0.1', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  const blue = await startBackend('blue');
  const router = await startLocalRouter({ listen: { host: '0.0.0.0', port: 0 }, upstreams: { blue: [blue.url], green: [blue.url] }, dataDir });
  t.teardown(async () => {
    await router.close();
    await blue.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  t.match(router.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

t.test('an upstream that is down: 502 naming the colour', async (t) => {
  const { router, provider, green } = await setup(t);
  await provider.moveTraffic('green', () => undefined);
  await green.close();
  const answer = await httpGet(router.url);
  t.equal(answer.status, 502);
  t.equal(answer.body, `bad gateway: green (${green.url}) did not answer: ECONNREFUSED\n`);
});

t.test('a broken state file: the router keeps the last good colour and logs; the provider says what is wrong', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const stateFile = routerStateFile(dataDir);
  await writeRouterState(stateFile, 'blue');
  const logged: string[] = [];
  const router = await startLocalRouter({
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: { blue: [blue.url], green: [green.url] },
    stateFile,
    log: (line) => logged.push(line),
  });
  t.teardown(async () => {
    await router.close();
    await blue.close();
    await green.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  writeFileSync(stateFile, '{"live":"purple"}');
  t.equal((await httpGet(router.url)).body, 'blue');
  t.same(logged, [
    `router: now routing to blue (${blue.url})`,
    `router: the router state ${stateFile} is not valid: expected {"live": "blue" | "green"}; still routing to blue`,
  ]);
  await t.rejects(readRouterState(stateFile), { name: 'UserError', hint: /bluegreen flip blue/ });
  await t.rejects(readRouterState(dataDir), { message: new RegExp(`^cannot read the router state ${dataDir}: EISDIR`) });
});

t.test('provider against things that are not its router', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const stateFile = routerStateFile(dataDir);
  const provider = (port: number, extra = {}) => createLocalProvider({ listen: { host: '127.0.0.1', port }, dataDir, pollIntervalMs: 1, ...extra });
  const say = () => undefined;

  t.test('another web server', async (t) => {
    const other = await startBackend('not a router');
    t.teardown(() => other.close());
    await t.rejects(provider(other.port).moveTraffic('green', say), {
      message: `something other than the bluegreen router answers at http://127.0.0.1:${other.port} (HTTP 200 for /.bluegreen/router)`,
      hint: /BLUEGREEN_ROUTER_LISTEN/,
    });
  });

  t.test('a router of another data dir', async (t) => {
    const otherDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
    const blue = await startBackend('blue');
    const router = await startLocalRouter({ listen: { host: '127.0.0.1', port: 0 }, upstreams: { blue: [blue.url], green: [blue.url] }, dataDir: otherDir });
    t.teardown(async () => {
      await router.close();
      await blue.close();
      rmSync(otherDir, { recursive: true, force: true });
    });
    await t.rejects(provider(Number(new URL(router.url).port)).moveTraffic('green', say), {
      message: `the router at ${router.url} follows ${routerStateFile(otherDir)}, not ${stateFile}`,
      hint: /BLUEGREEN_DATA_DIR/,
    });
    t.equal(await readRouterState(stateFile), undefined, 'nothing recorded');
  });

  t.test('a router that does not answer', async (t) => {
    const silent = await listenAny(() => undefined);
    t.teardown(() => silent.close());
    await t.rejects(provider(silent.port, { requestTimeoutMs: 30 }).liveColour(), {
      message: `the local router at http://127.0.0.1:${silent.port} did not answer: timed out after 30 ms`,
    });
  });

  t.test('a router that never switches', async (t) => {
    const stuck = await listenAny((_req, res) => res.end(JSON.stringify({ live: 'blue', stateFile })));
    t.teardown(() => stuck.close());
    await t.rejects(provider(stuck.port, { deadlineMs: 20 }).moveTraffic('green', say), {
      message: new RegExp(`^the local router at http://127\\.0\\.0\\.1:${stuck.port} still routes to blue \\d+ s after green was recorded in ${stateFile}$`),
      hint: /serve/,
    });
  });

  t.test('a router that stops while switching', async (t) => {
    let asked = 0;
    const stopping = await listenAny((_req, res) => {
      asked += 1;
      res.setHeader('connection', 'close');
      res.end(JSON.stringify({ live: 'blue', stateFile }));
      if (asked === 1) void stopping.close();
    });
    const said: string[] = [];
    await provider(stopping.port).moveTraffic('green', (line) => said.push(line));
    t.equal(said.at(-1), `the router at http://127.0.0.1:${stopping.port} stopped; green is recorded in ${stateFile}`);
  });
});

t.test('the router takes turns among the live colour\'s hosts, and none fails across flips under load', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-router-'));
  const backends = await Promise.all(['blue-1', 'blue-2', 'green-1', 'green-2'].map((name) => startBackend(name)));
  const [b1, b2, g1, g2] = backends as [Backend, Backend, Backend, Backend];
  const router = await startLocalRouter({ listen: { host: '127.0.0.1', port: 0 }, upstreams: { blue: [b1.url, b2.url], green: [g1.url, g2.url] }, dataDir });
  const provider = createLocalProvider({ listen: { host: '127.0.0.1', port: Number(new URL(router.url).port) }, dataDir, pollIntervalMs: 5 });
  t.teardown(async () => {
    await provider.close();
    await router.close();
    for (const backend of backends) await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await provider.moveTraffic('blue', () => {});
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await httpGet(`${router.url}/x`)).body);
  t.same([...seen].sort(), ['blue-1', 'blue-2'], 'both blue hosts answer, no green one');

  let failed = 0;
  let answered = 0;
  let running = true;
  const load = Array.from({ length: 4 }, async () => {
    while (running) {
      const answer = await httpGet(`${router.url}/x`).catch(() => ({ status: 0, body: '' }));
      if (answer.status === 200) answered++;
      else failed++;
    }
  });
  for (const colour of ['green', 'blue', 'green', 'blue', 'green'] as const) await provider.moveTraffic(colour, () => {});
  running = false;
  await Promise.all(load);
  t.ok(answered > 0, `${answered} requests answered`);
  t.equal(failed, 0, 'no request failed across five flips between colours of two hosts');
  seen.clear();
  for (let i = 0; i < 6; i++) seen.add((await httpGet(`${router.url}/x`)).body);
  t.same([...seen].sort(), ['green-1', 'green-2']);
});
