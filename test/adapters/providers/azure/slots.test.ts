/**
 * App Service slots end to end: `bluegreen serve` and the CLI against the fake App Service under its real host
 * names (BLUEGREEN_CONNECT_TO, TLS through a test CA): deploy to the slot holding the colour, flip by swap,
 * flip back after a failed public check, a failed Kudu deploy, a swap made behind bluegreen's back, 409 and 417,
 * and the server's memory while it zips a 500 MB tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { routeOutgoing } from '../../../../src/adapters/http/outgoing.js';
import { createProvider } from '../../../../src/adapters/providers/index.js';
import { parseConfig } from '../../../../src/core/config.js';
import { readStatus } from '../../../../src/status/read-status.js';
import { startFakeAppService } from '../../../fakes/app-service.js';
import { requireBuild, runCli, startServe } from '../../../helpers/bluegreen.js';
import { WorkRepo, cleanGitEnv } from '../../../helpers/git-repo.js';
import { push } from '../../../helpers/push-setup.js';

requireBuild();
const ids = { tenantId: 'tenant-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };
const fake = await startFakeAppService({ ...ids, app: 'bluegreen-demo-shop', slot: 'staging' });
t.teardown(() => fake.close());
const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-slots-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const env = {
  BLUEGREEN_DATA_DIR: path.join(dir, 'data'),
  BLUEGREEN_LISTEN: '127.0.0.1:0',
  BLUEGREEN_PROVIDER: 'azure-slots',
  AZURE_TENANT_ID: ids.tenantId,
  AZURE_CLIENT_ID: 'client-1',
  AZURE_CLIENT_SECRET: 'very-secret-value',
  AZURE_SUBSCRIPTION_ID: ids.subscriptionId,
  AZURE_RESOURCE_GROUP: ids.resourceGroup,
  AZURE_WEBAPP: 'bluegreen-demo-shop',
  BLUEGREEN_CONNECT_TO: fake.connectTo,
  NODE_EXTRA_CA_CERTS: fake.ca.caPath,
  BLUEGREEN_VERIFY_TIMEOUT: '2',
  BLUEGREEN_LOCK_WAIT: '20',
};
// In this process too (status read here): the same routes, and the test CA a child gets from NODE_EXTRA_CA_CERTS.
const config = parseConfig(env, dir).config!;
routeOutgoing(config.connectTo, { extraCa: fake.ca.ca });
const logged: string[] = [];
const provider = createProvider(config, { log: (line) => logged.push(line) });
const added = await runCli(dir, ['user', 'add', 'alice'], env);
const token = added.stdout.split('\n')[1] ?? '';
const server = await startServe(dir, env, t);
const work = new WorkRepo();
t.teardown(() => work.cleanup());
const base = new URL(server.gitUrl);
for (const colour of ['blue', 'green']) work.git('remote', 'add', colour, `${base.protocol}//alice:${token}@${base.host}/${colour}.git`);
const commit = (text: string) => work.write('index.html', `<h1>${text}</h1>\n`).write('bin/run.sh', '#!/bin/sh\n', 0o755).commit(text);
const cli = (...args: string[]) => runCli(dir, args, env);
const slotHost = /^bluegreen-demo-shop-staging-[0-9a-f]{6}\.azurewebsites\.net$/;
const revisions: Record<string, string> = {};

t.test('the slot host names are read from Azure (truncated and suffixed), never built', async (t) => {
  t.match(fake.hosts.slot, slotHost);
});

t.test('a push deploys to the slot holding the colour: blue (production, forced), then green (staging)', async (t) => {
  revisions.blue = commit('blue one');
  const blue = await push(work, 'blue', 'main', '-o', 'force-live');
  t.equal(blue.code, 0, blue.output);
  t.match(blue.output, /zip deploy to slot production \(bluegreen-demo-shop\.azurewebsites\.net\) through Kudu \(bluegreen-demo-shop\.scm\.azurewebsites\.net\)/);
  t.equal(fake.revision('production'), revisions.blue);
  revisions.green = commit('green one');
  const green = await push(work, 'green', 'main');
  t.equal(green.code, 0, green.output);
  t.match(green.output, /remote: zip deploy to slot staging \(bluegreen-demo-shop-staging-[0-9a-f]{6}\.azurewebsites\.net\)/);
  t.match(green.output, /remote: Kudu: (pending|building)/);
  t.equal(fake.revision('slot'), revisions.green);
  t.equal(fake.revision('production'), revisions.blue, 'production untouched');
});

t.test('flip green swaps the slots (a 409 retried), verifies production, and status shows the slots', async (t) => {
  fake.swapBusyNext(1);
  const flip = await cli('flip', 'green', '--yes');
  t.equal(flip.code, 0, flip.stdout + flip.stderr);
  t.match(flip.stdout + flip.stderr, /swapping staging with production/);
  t.equal(fake.revision('production'), revisions.green);
  t.equal(fake.requests.filter((r) => r.endsWith('/slotsswap')).length, 2, 'the 409 was asked again');
  const status = await cli('status');
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, new RegExp(`^slot production: green, bluegreen-demo-shop\\.azurewebsites\\.net, serving ${revisions.green!.slice(0, 12)}$`, 'm'));
  t.match(status.stdout, new RegExp(`^slot staging: blue, ${fake.hosts.slot.replace(/\./g, '\\.')}, serving ${revisions.blue!.slice(0, 12)}$`, 'm'));
  const json = await readStatus(config, provider);
  t.equal(json.live, 'green');
  t.same(
    json.slots?.map((s) => [s.slot, s.colour, s.revision]),
    [
      ['production', 'green', revisions.green],
      ['staging', 'blue', revisions.blue],
    ],
  );
  t.match(json.slots?.[1]?.host, slotHost);
});

t.test('a flip whose public check fails swaps back', async (t) => {
  fake.brokenInProduction = revisions.blue;
  const flip = await cli('flip', 'blue', '--yes');
  fake.brokenInProduction = undefined;
  t.equal(flip.code, 1, flip.stdout + flip.stderr);
  t.match(flip.stderr, /flipped back: green is live again, verified/);
  t.equal(fake.revision('production'), revisions.green);
});

t.test('a failed Kudu deploy rejects the push with its log URL; a busy Kudu (409) is waited for', async (t) => {
  fake.failNextDeploy('Build failed: npm ERR! missing script: build');
  commit('blue two');
  const failed = await push(work, 'blue', 'main');
  t.not(failed.code, 0);
  t.match(failed.output, /the zip deploy to slot staging failed: Build failed: npm ERR! missing script: build \(log: https:\/\/bluegreen-demo-shop-staging-[0-9a-f]{6}\.scm\.azurewebsites\.net\/api\/deployments\/[0-9a-f]+\/log\)/);
  t.equal(fake.revision('slot'), revisions.blue, 'the slot still serves what it did');
  fake.kuduBusyNext(1);
  revisions.blue = commit('blue three');
  const posts = fake.requests.filter((r) => r.endsWith('POST /api/zipdeploy')).length;
  const ok = await push(work, 'blue', 'main');
  t.equal(ok.code, 0, ok.output);
  t.equal(fake.requests.filter((r) => r.endsWith('POST /api/zipdeploy')).length, posts + 2, 'sent again after the 409');
  t.equal(fake.revision('slot'), revisions.blue);
});

t.test('a swap made behind bluegreen\'s back is noticed and the record corrected', async (t) => {
  fake.swapNow();
  logged.length = 0;
  t.equal((await readStatus(config, provider)).live, 'blue');
  t.match(logged, [/^the slots were swapped outside bluegreen: production \(bluegreen-demo-shop\.azurewebsites\.net\) serves blue's [0-9a-f]{12}/]);
  t.equal(logged.length, 1, 'said once, though status asks for the live colour and both colours at once');
  await readStatus(config, provider);
  t.equal(logged.length, 1, 'the record now agrees');
});

t.test('a swap refused for the warm-up ping (417) says what to set', async (t) => {
  fake.swapWarmupFailsNext();
  const flip = await cli('flip', 'green', '--yes');
  t.equal(flip.code, 1);
  t.match(flip.stderr, /did not answer the warm-up ping \(417/);
  t.match(flip.stderr, /WEBSITE_SWAP_WARMUP_PING_PATH/);
  t.equal(fake.revision('production'), revisions.blue, 'nothing swapped');
});

t.test('a 500 MB tree is zipped and sent as a stream: the server stays under 200 MB of memory', async (t) => {
  // Five paths share one 100 MB blob: git stores and sends it once, bluegreen reads and zips it five times.
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: work.dir, input: Buffer.alloc(100 << 20), env: cleanGitEnv() }).toString().trim();
  for (let i = 1; i <= 5; i++) work.git('update-index', '--add', '--cacheinfo', `100644,${blob},big/part-${i}.bin`);
  work.git('commit', '-q', '-m', 'big');
  const revision = work.git('rev-parse', 'HEAD').trim();
  fake.unpackOnly = ['REVISION', 'index.html'];
  t.teardown(() => {
    fake.unpackOnly = undefined;
  });
  const hwm = () => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1]);
  const before = hwm();
  const pushed = await push(work, 'green', 'main'); // blue is live since the swap behind bluegreen's back
  t.equal(pushed.code, 0, pushed.output);
  t.equal(fake.revision('slot'), revision);
  t.same(fake.lastZipEntries.filter((entry) => entry.startsWith('big/')).sort(), [1, 2, 3, 4, 5].map((i) => `big/part-${i}.bin`));
  t.ok(fake.largestZip < 10 << 20, `the zip is deflated (${fake.largestZip} bytes)`);
  const hwmKiB = hwm();
  t.ok(hwmKiB > 0 && hwmKiB < 200 * 1024, `the server's peak RSS is ${Math.round(hwmKiB / 1024)} MB (${Math.round(before / 1024)} MB before this push)`);
});
