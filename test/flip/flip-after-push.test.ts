/**
 * The lifecycle end to end, with one server (in this process, so the notifier's retry window can be short) on
 * two `file://` hosts, the `local` router, and a production address in front of it that can be told to fail
 * while green is live: `-o flip`, BLUEGREEN_AUTO_FLIP and `-o no-flip` (with a flip back, the push still
 * accepted), `status` saying the idle colour is behind, `bluegreen sync`, `rollback` and `activate`, and the
 * notices of all of them at a real webhook — plus a webhook that answers 500 and one that hangs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createProvider } from '../../src/adapters/providers/index.js';
import { addUser } from '../../src/adapters/state/users.js';
import { parseConfig } from '../../src/core/config.js';
import { describe } from '../../src/cli/commands/history.js';
import { syncIdle } from '../../src/deploy/sync-idle.js';
import { startServer } from '../../src/server/serve.js';
import { readStatus } from '../../src/status/read-status.js';
import { cleanEnv, requireBuild, runCli } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { freePort } from '../helpers/sshd.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';

const execFileAsync = promisify(execFile);
const short = (sha: string) => sha.slice(0, 12);
const SECRET = 'lifecycle-notify-secret';
const TOKEN = 'xoxb-webhook-token-in-path';

t.test('flip after a push, auto flip and flip back, sync, and the notices of every event', async (t) => {
  requireBuild();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-lifecycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const receiver = await startWebhookReceiver(SECRET);
  t.teardown(() => receiver.close());
  const [routerPort, bluePort, greenPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const dataDir = path.join(dir, 'data');
  const routerState = path.join(dataDir, 'router.json');
  const routerLive = () => (existsSync(routerState) ? (JSON.parse(readFileSync(routerState, 'utf8')) as { live: string }).live : undefined);

  // Production: the router, behind a front that answers 503 while green is live and `failGreen` is set.
  let failGreen = false;
  const front = http.createServer(async (req, res) => {
    if (failGreen && routerLive() === 'green') return void res.writeHead(503).end('broken\n');
    const answer = await fetch(`http://127.0.0.1:${routerPort}${req.url}`).catch(() => undefined);
    res.writeHead(answer?.status ?? 502).end(answer ? Buffer.from(await answer.arrayBuffer()) : '');
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => front.close(() => resolve())));
  const publicUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/`;

  const good = `${receiver.base}/good/${TOKEN}?token=${TOKEN}`;
  const env: Record<string, string> = {
    BLUEGREEN_DATA_DIR: dataDir,
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUEGREEN_SSH_LISTEN: 'off',
    BLUE_HOST: `file://${path.join(dir, 'blue')}`,
    GREEN_HOST: `file://${path.join(dir, 'green')}`,
    BLUE_URL: `http://127.0.0.1:${bluePort}/`,
    GREEN_URL: `http://127.0.0.1:${greenPort}/`,
    BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${routerPort}`,
    BLUEGREEN_PUBLIC_URL: publicUrl,
    BLUEGREEN_VERIFY_TIMEOUT: '1',
    BLUEGREEN_NOTIFY_SECRET: SECRET,
    BLUEGREEN_NOTIFY_URLS: `${good},${receiver.base}/fail/${TOKEN},${receiver.base}/hang/${TOKEN}`,
  };
  const parsed = parseConfig(env, dir);
  if (!parsed.config) throw new Error(parsed.errors.join('\n'));
  const config = parsed.config;
  const logs: string[] = [];
  const server = await startServer(config, {
    baseEnv: env,
    cwd: dir,
    log: (line) => logs.push(line),
    // A window longer than this test runs: what the hanging webhook holds is still held when the server stops.
    notifyTiming: { windowMs: 300_000, requestTimeoutMs: 300_000, firstDelayMs: 100, maxDelayMs: 400 },
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : server.close()));
  const token = await addUser(dataDir, 'alice');
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const base = new URL(server.gitUrl);
  for (const colour of ['blue', 'green']) work.git('remote', 'add', colour, `${base.protocol}//alice:${token}@${base.host}/${colour}.git`);

  const push = async (colour: string, label: string, ...options: string[]) => {
    work.write('index.html', `<h1>${label}</h1>\n`);
    const sha = work.commit(label);
    try {
      const { stdout, stderr } = await execFileAsync('git', ['push', ...options.flatMap((o) => ['-o', o]), colour, 'main'], { cwd: work.dir, env: cleanEnv() });
      return { sha, code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { sha, code: e.code, output: e.stdout + e.stderr };
    }
  };
  const history = () =>
    readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line))
      .reverse();
  const served = async (url: string) => (await (await fetch(`${url}REVISION`)).text()).trim();
  // The CLI tells only the good webhook: a command waits (bounded) for its notices, and that is not under test here.
  const cli = (args: string[]) => runCli(dir, args, { ...env, BLUEGREEN_NOTIFY_URLS: good });

  let blue = { sha: '', code: 0, output: '' };
  await t.test('-o flip: the deploy, then the flip, streamed to the pusher; notices do not hold up the push', async (t) => {
    blue = await push('blue', 'blue v1', 'flip');
    t.equal(blue.code, 0, blue.output);
    t.match(blue.output, new RegExp(`remote: deployed ${short(blue.sha)} to blue in [\\d.]+ s\\s*\\nremote: flipping to blue \\(-o flip\\)`));
    t.match(blue.output, new RegExp(`remote: blue is live \\(${short(blue.sha)}\\), verified through ${publicUrl}`));
    t.equal(routerLive(), 'blue');
    t.equal(await served(publicUrl), blue.sha);
    t.match(history().slice(0, 2), [{ type: 'flip', to: 'blue', outcome: 'flipped', by: 'alice' }, { type: 'deploy', colour: 'blue', outcome: 'deployed' }]);
    // The hanging webhook holds the deploy's notice (until the server stops), yet the push is over.
    t.ok(receiver.hanging >= 1, 'the hanging webhook has the notice');
    t.notOk(history().some((r) => r.type === 'notify'), 'nothing given up yet: the push did not wait for the notices');
  });

  await t.test('without -o flip and BLUEGREEN_AUTO_FLIP, a push only deploys', async (t) => {
    const v2 = await push('green', 'green v2');
    t.equal(v2.code, 0, v2.output);
    t.notMatch(v2.output, /flipping/);
    t.equal(routerLive(), 'blue');
  });

  await t.test('BLUEGREEN_AUTO_FLIP=true applies on a running server; -o no-flip opts out', async (t) => {
    writeFileSync(path.join(dir, '.env'), 'BLUEGREEN_AUTO_FLIP=true\n');
    const deadline = Date.now() + 15_000;
    while (!logs.some((line) => /configuration reloaded from \.env \(changed: BLUEGREEN_AUTO_FLIP\)/.test(line)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    t.ok(logs.some((line) => line.includes('changed: BLUEGREEN_AUTO_FLIP')), 'reloaded');
    const v3 = await push('green', 'green v3', 'no-flip');
    t.equal(v3.code, 0, v3.output);
    t.notMatch(v3.output, /flipping/);
    t.equal(routerLive(), 'blue');
  });

  let v4 = blue;
  await t.test('an automatic flip whose public check fails flips back; the push is still accepted and says where traffic is', async (t) => {
    failGreen = true;
    v4 = await push('green', 'green v4');
    failGreen = false;
    t.equal(v4.code, 0, v4.output);
    t.match(v4.output, /remote: flipping to green \(BLUEGREEN_AUTO_FLIP=true; push with -o no-flip to deploy without flipping\)/);
    t.match(v4.output, /remote: flipping back to blue/);
    t.match(v4.output, /remote: error: flip to green failed the check through the public address \(.*\); flipped back: blue is live again, verified/);
    t.match(v4.output, new RegExp(`remote: the push stands: green serves ${short(v4.sha)} \\(its main\\); production traffic goes to blue`));
    t.match(v4.output, /\n \* \[new branch\]|main -> main/, 'git took the update');
    t.equal(routerLive(), 'blue');
    t.equal(await served(publicUrl), blue.sha);
    t.equal(await served(env.GREEN_URL!), v4.sha, 'the deploy stands');
    t.match(history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'flipped-back', by: 'alice' });
  });

  let v5 = blue;
  await t.test('an automatic flip to the idle colour', async (t) => {
    v5 = await push('green', 'green v5');
    t.equal(v5.code, 0, v5.output);
    t.match(v5.output, new RegExp(`remote: green is live \\(${short(v5.sha)}\\), verified through`));
    t.equal(routerLive(), 'green');
  });

  await t.test('status says the idle colour is behind and suggests sync; sync leaves both colours on one revision', async (t) => {
    const provider = createProvider(config);
    t.teardown(() => provider.close());
    const before = await readStatus(config, provider);
    t.match(before.colours, [{ colour: 'blue', behind: true }, { colour: 'green', behind: false }]);
    const text = await cli(['status']);
    t.match(text.stdout, /behind green: `bluegreen sync` deploys green's revision to blue \(a warm standby\)/);

    const sync = await cli(['sync', '--yes']);
    t.equal(sync.code, 0, sync.stderr);
    t.match(sync.stderr, new RegExp(`sync: deploy green's revision ${short(v5.sha)} to blue \\(which serves ${short(blue.sha)}\\); blue's main moves to it`));
    t.match(sync.stdout, new RegExp(`^deployed ${short(v5.sha)} to blue in`));
    t.equal(await served(env.BLUE_URL!), v5.sha);
    t.equal(await served(env.GREEN_URL!), v5.sha);
    t.equal((await execFileAsync('git', ['--git-dir', path.join(dataDir, 'repos', 'blue.git'), 'rev-parse', 'main'], { env: cleanEnv() })).stdout.trim(), v5.sha);
    t.match(history().find((r) => r.type === 'deploy'), { colour: 'blue', revision: v5.sha, outcome: 'deployed', note: 'sync' });
    t.match(describe(history().find((r) => r.type === 'deploy')), new RegExp(`deploy +blue +${short(v5.sha)} +by \\S+, [\\d.]+ s \\(sync\\)$`), 'history says sync');
    const after = await readStatus(config, provider);
    t.match(after.colours, [{ colour: 'blue', behind: false }, { colour: 'green', behind: false }]);

    const said: string[] = [];
    const again = await syncIdle({ config, by: 'ops', liveColour: () => provider.liveColour(), say: (line) => said.push(line) });
    t.equal(again, `blue already serves ${short(v5.sha)}, green's revision: nothing to sync`);
    t.same(said, [again]);
  });

  await t.test('rollback and activate', async (t) => {
    const rollback = await cli(['rollback', '--yes']);
    t.equal(rollback.code, 0, rollback.stderr);
    t.equal(routerLive(), 'blue');
    const release = readdirSync(path.join(dir, 'green', 'releases')).filter((id) => id.endsWith(short(v4.sha)))[0] ?? '';
    const activate = await cli(['activate', 'green', release]);
    t.equal(activate.code, 0, activate.stderr);
    t.equal(await served(env.GREEN_URL!), v4.sha);
  });

  await t.test('every operation reached the webhook once, signed, with a one-line text; the dead webhooks are in history', async (t) => {
    await server.close();
    closed = true;
    const bodies = receiver.good.map((r) => r.body);
    t.ok(receiver.good.every((r) => r.signed), 'every signature checks out');
    const count = (event: string) => bodies.filter((b) => b.event === event).length;
    t.same(
      { deploy: count('deploy'), flip: count('flip'), 'flip-back': count('flip-back'), sync: count('sync'), rollback: count('rollback'), activate: count('activate') },
      { deploy: 5, flip: 3, 'flip-back': 1, sync: 1, rollback: 1, activate: 1 },
    );
    t.match(bodies.find((b) => b.event === 'deploy'), { ok: true, colour: 'blue', revision: blue.sha, by: 'alice', text: `bluegreen: deployed ${short(blue.sha)} to blue (by alice)` });
    t.match(bodies.filter((b) => b.event === 'flip')[1], { ok: false, colour: 'green', revision: v4.sha, by: 'alice', text: /^bluegreen: flip to green FAILED \(by alice\): the check through the public address failed: / });
    t.match(bodies.find((b) => b.event === 'flip-back'), { ok: true, colour: 'blue', revision: blue.sha, text: 'bluegreen: flipped back: blue is live again (by alice)' });
    t.match(bodies.find((b) => b.event === 'sync'), { ok: true, colour: 'blue', revision: v5.sha, text: /^bluegreen: synced blue to / });
    t.match(bodies.find((b) => b.event === 'rollback'), { ok: true, colour: 'blue', revision: v5.sha });
    t.match(bodies.find((b) => b.event === 'activate'), { ok: true, colour: 'green', revision: v4.sha });
    t.ok(bodies.every((b) => !b.text.includes('\n')), 'text is one line');
    const deployIndex = bodies.findIndex((b) => b.event === 'deploy');
    const flipIndex = bodies.findIndex((b) => b.event === 'flip');
    t.ok(deployIndex < flipIndex, 'a push with -o flip sends deploy, then flip');

    const undelivered = history().filter((r) => r.type === 'notify');
    const endpoint = `127.0.0.1:${receiver.port}`;
    t.ok(undelivered.some((r) => /^HTTP 500/.test(r.error) && r.attempts > 1), 'the 500 webhook was retried, then recorded');
    t.ok(undelivered.some((r) => /given up when bluegreen stopped waiting/.test(r.error)), 'what the hanging one holds is recorded when the server stops');
    t.ok(undelivered.every((r) => r.endpoint === endpoint), 'recorded by host and port');
    t.ok(receiver.failed > 1);
    const everything = readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8') + logs.join('\n');
    t.notOk(everything.includes(TOKEN), 'no webhook path or query in history or the log');
    t.notOk(everything.includes(SECRET), 'no secret in history or the log');
  });
});
