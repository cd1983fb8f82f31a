/**
 * The status page's HTTP answers and refusals, in process: the web door on a plain HTTP server, with the real
 * users file, status reader, history, activity hub and flip runner (local provider), and a clock the test moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createProvider } from '../../../src/adapters/providers/index.js';
import { appendHistory, readHistory } from '../../../src/adapters/state/history.js';
import { addUser, createUsersReader, removeUser } from '../../../src/adapters/state/users.js';
import { parseConfig } from '../../../src/core/config.js';
import { FREE_FAILURES } from '../../../src/core/sign-in-throttle.js';
import { createFlipRunner } from '../../../src/flip/flip-runner.js';
import { type ActivityEvent, createActivity } from '../../../src/status/activity.js';
import { readStatus } from '../../../src/status/read-status.js';
import { loadPageAssets } from '../../../src/server/web/assets.js';
import { SESSION_TTL_MS } from '../../../src/server/web/sessions.js';
import { type WebDoorDeps, createWebDoor } from '../../../src/server/web/web-door.js';
import { freePort } from '../../helpers/sshd.js';

t.test('the status page over HTTP', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-web-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');
  const closed = await freePort('127.0.0.1');
  const { config, errors } = parseConfig(
    {
      BLUEGREEN_DATA_DIR: dataDir,
      BLUEGREEN_LISTEN: '127.0.0.1:0',
      BLUE_HOST: `file://${dir}/blue`,
      GREEN_HOST: `file://${dir}/green`,
      // Nothing listens there: checks fail at once.
      BLUE_URL: `http://127.0.0.1:${closed}/`,
      GREEN_URL: `http://127.0.0.1:${closed}/`,
      BLUEGREEN_PUBLIC_URL: `http://127.0.0.1:${closed}/`,
      BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${closed}`,
      BLUEGREEN_VERIFY_TIMEOUT: '1',
    },
    dir,
  );
  t.same(errors, []);
  if (!config) throw new Error('no config');
  const provider = createProvider(config);
  t.teardown(() => provider.close());

  const tokens = {
    viewer: await addUser(dataDir, 'vic', { role: 'viewer' }),
    deployer: await addUser(dataDir, 'dee'),
    operator: await addUser(dataDir, 'ops', { role: 'operator' }),
  };
  const basic = (name: string, token: string) => `Basic ${Buffer.from(`${name}:${token}`).toString('base64')}`;
  const asOps = { authorization: basic('ops', tokens.operator) };

  let clock = 1_800_000_000_000;
  const logs: string[] = [];
  const activity = createActivity();
  const flips = createFlipRunner({ config: () => config, provider: () => provider, activity });

  async function serveDoor(overrides: Partial<WebDoorDeps> = {}): Promise<string> {
    const door = createWebDoor({
      users: createUsersReader(dataDir, (error) => logs.push(String(error))),
      status: () => readStatus(config!, provider),
      history: () => readHistory(dataDir),
      flips,
      activity,
      assets: loadPageAssets(),
      secure: false,
      log: (line) => logs.push(line),
      now: () => clock,
      heartbeatMs: 30,
      ...overrides,
    });
    const server = http.createServer((req, res) => {
      if (door.handles(new URL(req.url ?? '/', 'http://x').pathname)) door.handle(req, res);
      else res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          door.close();
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const base = await serveDoor();
  const get = (p: string, headers: Record<string, string> = {}) => fetch(`${base}${p}`, { headers, redirect: 'manual' });
  const postJson = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), redirect: 'manual' });
  const login = (name: string, token: string, headers: Record<string, string> = {}, url = base) =>
    fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ name, token }).toString(),
      redirect: 'manual',
    });
  const cookieOf = (response: Response) => (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const errorOf = async (response: Response) => ((await response.json()) as { error: string; hint?: string });

  /** Reads /api/events into a list of events, as they come. */
  function openEvents(headers: Record<string, string>) {
    const events: Array<{ type: string; [key: string]: unknown }> = [];
    let ended = false;
    let status = 0;
    const req = http.get(`${base}/api/events`, { headers }, (res) => {
      status = res.statusCode ?? 0;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) events.push(JSON.parse(data));
        }
      });
      res.on('end', () => (ended = true));
    });
    req.on('error', () => (ended = true));
    t.teardown(() => req.destroy());
    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 10_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; events: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    return { events, ended: () => ended, status: () => status, waitFor };
  }

  await t.test('the page: to /login without a session; the sign-in form; the files, under 100 KB in all', async (t) => {
    const page = await get('/');
    t.equal(page.status, 303);
    t.equal(page.headers.get('location'), '/login');
    const form = await get('/login');
    t.equal(form.status, 200);
    const text = await form.text();
    t.match(text, /<form method="post" action="\/login">/, 'the token goes in a POST body, never in a URL');
    t.match(form.headers.get('content-security-policy'), /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'.*frame-ancestors 'none'/);
    t.equal(form.headers.get('x-frame-options'), 'DENY');

    const assets = loadPageAssets();
    let total = assets.index.body.length;
    for (const file of ['/assets/app.js', '/assets/style.css', '/assets/vendor/preact.mjs', '/assets/vendor/hooks.mjs', '/assets/vendor/htm.mjs', '/assets/favicon.svg']) {
      const response = await get(file);
      t.equal(response.status, 200, file);
      const body = Buffer.from(await response.arrayBuffer());
      total += body.length;
      const again = await get(file, { 'if-none-match': response.headers.get('etag') ?? '' });
      t.equal(again.status, 304, `${file} again: not modified`);
    }
    t.ok(total < 100 * 1024, `first load ${total} bytes`);
    t.match(await (await get('/assets/vendor/hooks.mjs')).text(), /from\s*"preact"/, 'the import map resolves the libraries\' own imports');
    const missing = await get('/assets/nope.js');
    t.equal(missing.status, 404);
    t.match(await errorOf(missing), { error: 'not found: /assets/nope.js', hint: 'the status page is at /' });
    const put = await fetch(`${base}/`, { method: 'PUT' });
    t.equal(put.status, 405);
    t.equal(put.headers.get('allow'), 'GET');
  });

  await t.test('sign in: a session cookie (HttpOnly, SameSite=Strict, expiring; Secure under TLS); sign out ends it', async (t) => {
    const wrong = await login('ops', 'not-the-token');
    t.equal(wrong.status, 401);
    t.match(await wrong.text(), /<p class="problem" role="alert">wrong user name or token<\/p>/);
    t.notOk(wrong.headers.get('set-cookie'));
    const unknown = await login('nobody', tokens.operator);
    t.equal(unknown.status, 401, 'an unknown name is refused the same way');

    const ok = await login('ops', tokens.operator);
    t.equal(ok.status, 303);
    t.equal(ok.headers.get('location'), '/');
    t.match(ok.headers.get('set-cookie'), /^bluegreen_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = cookieOf(ok);
    const page = await get('/', { cookie });
    t.equal(page.status, 200);
    t.match(await page.text(), /<script type="module" src="\/assets\/app.js">/);
    t.equal((await get('/login', { cookie })).status, 303, 'signed in: /login goes to the page');
    t.match(await (await get('/api/session', { cookie })).json(), { user: 'ops', role: 'operator', mayFlip: true, expires: new Date(clock + SESSION_TTL_MS).toISOString() });

    const secureBase = await serveDoor({ secure: true });
    const secure = await login('ops', tokens.operator, {}, secureBase);
    t.match(secure.headers.get('set-cookie'), /; HttpOnly; Secure; SameSite=Strict$/);

    const notForm = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    t.equal(notForm.status, 415);
    t.match(await notForm.text(), /sign in with the form on this page/);
    const forged = await login('ops', tokens.operator, { origin: 'https://evil.example' });
    t.equal(forged.status, 403, 'a sign-in posted from another site');
    t.match(await forged.text(), /refused: a cross-site request \(Origin: https:\/\/evil\.example\)/);

    const forgedOut = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site' }, redirect: 'manual' });
    t.equal(forgedOut.status, 403);
    t.equal((await get('/api/session', { cookie })).status, 200, 'a forged sign-out ends nothing');
    const out = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie, origin: base }, redirect: 'manual' });
    t.equal(out.status, 303);
    t.equal(out.headers.get('location'), '/login');
    t.match(out.headers.get('set-cookie'), /^bluegreen_session=; Max-Age=0;/);
    const after = await get('/api/status', { cookie });
    t.equal(after.status, 401);
    t.same(await errorOf(after), { error: 'your session is not valid (signed out, or the server restarted): sign in again', hint: 'sign in at /login' });
    t.equal((await fetch(`${base}/logout`)).status, 405);
  });

  await t.test('every /api/ refusal: no credentials, bad, expired or orphaned session, wrong or odd Basic auth', async (t) => {
    const none = await get('/api/status');
    t.equal(none.status, 401);
    t.same(await errorOf(none), { error: 'sign in first', hint: 'sign in at /login, or send a user name and token with Basic auth (curl -u NAME:TOKEN)' });
    t.notOk(none.headers.get('www-authenticate'), 'no Basic prompt: browsers would keep the credentials');
    const bad = await get('/api/status', { cookie: 'bluegreen_session=made-up' });
    t.equal(bad.status, 401);
    t.match(await errorOf(bad), { error: /^your session is not valid/ });
    const wrong = await get('/api/history', { authorization: basic('ops', 'wrong') });
    t.equal(wrong.status, 401);
    t.match(await errorOf(wrong), { error: 'wrong user name or token' });
    const bearer = await get('/api/history', { authorization: `Bearer ${tokens.operator}` });
    t.equal(bearer.status, 401);
    t.match(await errorOf(bearer), { error: 'the Authorization header is not Basic auth with a user name and token' });

    const cookie = cookieOf(await login('dee', tokens.deployer));
    t.equal((await get('/api/history', { cookie })).status, 200);
    clock += SESSION_TTL_MS;
    const expired = await get('/api/history', { cookie });
    t.equal(expired.status, 401);
    t.same(await errorOf(expired), { error: 'your session expired: sign in again', hint: 'sign in at /login' });
    t.equal((await get('/', { cookie })).status, 303, 'the page goes to /login');

    const gone = await addUser(dataDir, 'gone');
    const goneCookie = cookieOf(await login('gone', gone));
    await removeUser(dataDir, 'gone');
    const orphaned = await get('/api/status', { cookie: goneCookie });
    t.equal(orphaned.status, 401);
    t.same(await errorOf(orphaned), { error: 'the user gone no longer exists', hint: 'sign in as another user at /login' });

    const unknownPath = await get('/api/nope', asOps);
    t.equal(unknownPath.status, 404);
    t.match(await errorOf(unknownPath), { error: 'no such API path: /api/nope', hint: /\/api\/status/ });
    const getFlip = await get('/api/flip', asOps);
    t.equal(getFlip.status, 405);
    t.match(await errorOf(getFlip), { error: 'GET is not allowed on /api/flip', hint: 'use POST' });
  });

  await t.test('failed sign-ins are slowed down per address, the right token too while it must wait', async (t) => {
    clock += 60 * 60_000;
    for (let i = 0; i < FREE_FAILURES; i++) t.equal((await get('/api/session', { authorization: basic('vic', `guess-${i}`) })).status, 401);
    const slowed = await get('/api/session', { authorization: basic('vic', tokens.viewer) });
    t.equal(slowed.status, 429);
    t.equal(slowed.headers.get('retry-after'), '1');
    t.match(await errorOf(slowed), { error: 'too many failed sign-ins from this address: try again in 1 s', hint: /bluegreen user list/ });
    const page = await login('vic', tokens.viewer);
    t.equal(page.status, 429, 'the sign-in form waits too');
    t.match(await page.text(), /too many failed sign-ins from this address/);
    clock += 1000;
    t.equal((await get('/api/session', { authorization: basic('vic', tokens.viewer) })).status, 200, 'after the wait');
    t.equal((await get('/api/session', { authorization: basic('vic', 'wrong') })).status, 401, 'a success forgets the failures');
    t.ok(logs.some((line) => /^page: refused a sign-in from 127\.0\.0\.1: wrong user name or token$/.test(line)));
    t.notOk(logs.some((line) => Object.values(tokens).some((token) => line.includes(token))), 'no token in the log');
  });

  await t.test('/api/status and /api/history: the shapes of status --json and history --json', async (t) => {
    const direct = await readStatus(config, provider);
    const status = await get('/api/status', asOps);
    t.equal(status.status, 200);
    t.equal(status.headers.get('cache-control'), 'no-store');
    const body = (await status.json()) as typeof direct;
    t.same(Object.keys(body), Object.keys(direct));
    t.same(
      body.colours.map((c) => Object.keys(c)),
      direct.colours.map((c) => Object.keys(c)),
    );
    t.match(body, { provider: direct.provider, live: null, colours: [{ colour: 'blue', deployed: null, healthy: false }, { colour: 'green' }] });

    for (let i = 0; i < 22; i++) {
      await appendHistory(dataDir, { type: 'deploy', at: new Date(clock + i).toISOString(), colour: 'green', revision: `${i}`.padEnd(40, 'a'), release: `r${i}`, by: 'dee', outcome: 'deployed', durationMs: 5 });
    }
    const history = (await (await get('/api/history', asOps)).json()) as Array<{ release: string }>;
    t.equal(history.length, 20, 'at most 20, as history --json');
    t.equal(history[0]?.release, 'r21', 'newest first');
    t.same(await (await get('/api/history?limit=1', asOps)).json(), (await readHistory(dataDir)).slice(0, 1));
    const badLimit = await get('/api/history?limit=0', asOps);
    t.equal(badLimit.status, 400);
    t.match(await errorOf(badLimit), { error: 'limit "0": expected a positive whole number' });
    const withDeploy = (await (await get('/api/status', asOps)).json()) as typeof direct;
    t.match(withDeploy.colours[1]?.deployed, { revision: '21'.padEnd(40, 'a'), release: 'r21', by: 'dee' });

    const broken = await serveDoor({ status: () => Promise.reject(new Error('disk on fire')) });
    const failed = await fetch(`${broken}/api/status`, { headers: asOps });
    t.equal(failed.status, 500);
    t.same(await errorOf(failed), { error: 'internal error (see the server log)' });
    t.ok(logs.some((line) => line.startsWith('page: GET /api/status failed: Error: disk on fire')));
  });

  await t.test('flip and rollback: operators only, no forgery, checked bodies; progress on /api/events', async (t) => {
    const viewerCookie = cookieOf(await login('vic', tokens.viewer));
    for (const [who, headers, role] of [
      ['vic', { cookie: viewerCookie }, 'viewer'],
      ['dee', { authorization: basic('dee', tokens.deployer) }, 'deployer'],
    ] as const) {
      for (const p of ['/api/flip', '/api/rollback']) {
        const refused = await postJson(p, { colour: 'blue' }, headers);
        t.equal(refused.status, 403, `${role} ${p}`);
        t.same(await errorOf(refused), {
          error: `${who} is a ${role}: flipping and rolling back need the operator role; an administrator can run \`bluegreen user role ${who} operator\``,
        });
      }
    }
    const opsCookie = cookieOf(await login('ops', tokens.operator));
    const crossOrigin = await postJson('/api/flip', { colour: 'blue' }, { cookie: opsCookie, origin: 'https://evil.example' });
    t.equal(crossOrigin.status, 403);
    t.match(await errorOf(crossOrigin), { error: 'refused: a cross-site request (Origin: https://evil.example)', hint: /from the status page itself/ });
    const crossSite = await postJson('/api/rollback', '', { cookie: opsCookie, 'sec-fetch-site': 'same-site' });
    t.equal(crossSite.status, 403);
    t.match(await errorOf(crossSite), { error: 'refused: a cross-site request (Sec-Fetch-Site: same-site)' });
    const form = await fetch(`${base}/api/flip`, { method: 'POST', headers: { cookie: opsCookie, 'content-type': 'text/plain', origin: base }, body: 'colour=blue' });
    t.equal(form.status, 415);
    t.match(await errorOf(form), { error: 'expected a JSON body (content-type: application/json)' });
    const notJson = await postJson('/api/flip', '{colour', asOps);
    t.equal(notJson.status, 400);
    t.match(await errorOf(notJson), { error: 'the body is not a JSON object' });
    const badColour = await postJson('/api/flip', { colour: 'red' }, asOps);
    t.equal(badColour.status, 400);
    t.match(await errorOf(badColour), { error: 'bad colour "red": expected "blue" or "green"' });
    const huge = await postJson('/api/flip', { colour: 'blue', pad: 'x'.repeat(5000) }, asOps);
    t.equal(huge.status, 413);
    t.match(await errorOf(huge), { error: 'the request body is larger than 4096 bytes' });

    const nothing = await postJson('/api/flip', { colour: 'blue' }, asOps);
    t.equal(nothing.status, 409, 'refused by the flip plan: the answer says why');
    t.same(await errorOf(nothing), { error: 'refused: nothing has been deployed to blue', hint: 'deploy first: git push blue main' });
    const noFlip = await postJson('/api/rollback', '', asOps);
    t.equal(noFlip.status, 409);
    t.match(await errorOf(noFlip), { error: 'refused: there is no flip to roll back' });

    const dry = await postJson('/api/flip', { colour: 'green', dryRun: true }, { cookie: opsCookie, origin: base, 'sec-fetch-site': 'same-origin' });
    t.equal(dry.status, 200);
    t.match(await dry.json(), { operation: 'flip', colour: 'green', dryRun: true, plan: ['flip nothing -> green (21aaaaaaaaaa)', /^ {2}1\. check green at http:\/\/127\.0\.0\.1:\d+\//, /move traffic to green/, /check http:\/\/127\.0\.0\.1:\d+\//] });

    const events = openEvents({ cookie: opsCookie });
    await events.waitFor(() => events.status() === 200, 'the stream');
    activity.changed();
    await events.waitFor(() => events.events.some((e) => e.type === 'changed'), 'a changed event');
    const started = await postJson('/api/flip', { colour: 'green' }, asOps);
    t.equal(started.status, 202);
    t.match(await started.json(), { operation: 'flip', colour: 'green', dryRun: false, plan: ['flip nothing -> green (21aaaaaaaaaa)'] });
    const again = await postJson('/api/flip', { colour: 'green' }, asOps);
    t.equal(again.status, 409, 'one flip at a time');
    t.match(await errorOf(again), { error: 'refused: a flip from the status page is running already' });
    await events.waitFor(() => events.events.some((e) => e.type === 'done'), 'the end of the flip');
    const flipEvents = events.events.filter((e) => e.type !== 'changed') as ActivityEvent[];
    t.match(flipEvents[0], { type: 'start', operation: 'flip', colour: 'green', by: 'ops' });
    t.match(flipEvents[1], { type: 'progress', line: 'flip nothing -> green (21aaaaaaaaaa)' });
    t.ok(flipEvents.some((e) => e.type === 'progress' && /^check green at http:\/\/127\.0\.0\.1:\d+\/: \/ answers 2xx/.test(e.line)), 'the flip\'s own lines');
    t.match(flipEvents.at(-1), { type: 'done', ok: false, message: /^refused: green is not healthy: .*Production unchanged: no colour is live \(fix green, or push a working revision: git push green main\)$/ });
    await flips.idle();
    t.notOk((await readHistory(dataDir)).some((r) => r.type === 'flip'), 'refused at its first check: not recorded, as from the CLI');
    t.ok(logs.includes('page: ops started a flip to green'));
  });

  await t.test('/api/events: the lines so far of a running operation first; the stream ends when the session does', async (t) => {
    activity.start('deploy', 'blue', 'dee');
    activity.progress('deploy', 'blue', 'dee', 'deploying 0123456789ab to blue');
    const cookie = cookieOf(await login('vic', tokens.viewer));
    const events = openEvents({ cookie });
    await events.waitFor(() => events.events.length >= 2, 'the backlog');
    t.match(events.events, [{ type: 'start', operation: 'deploy', colour: 'blue' }, { type: 'progress', line: 'deploying 0123456789ab to blue' }]);
    activity.done('deploy', 'blue', 'dee', true, '');
    await events.waitFor(() => events.events.some((e) => e.type === 'done'), 'done');
    t.same(activity.running(), [], 'nothing running any more');

    const basicEvents = openEvents({ authorization: basic('vic', tokens.viewer) });
    await basicEvents.waitFor(() => basicEvents.status() === 200, 'a stream with Basic auth');
    clock += SESSION_TTL_MS;
    await events.waitFor(() => events.ended(), 'the end of the stream');
    t.match(events.events.at(-1), { type: 'signed-out', message: 'your session expired: sign in again' });
    t.notOk(basicEvents.ended(), 'Basic auth has no session to expire');
    const refused = openEvents({});
    await refused.waitFor(() => refused.ended(), 'a refused stream');
    t.equal(refused.status(), 401);
  });
});
