/**
 * Hosts found by tag, end to end: real `git push` to the real `bluegreen serve`, whose blue hosts are the droplets
 * tagged `web-blue` in the fake DigitalOcean, each droplet's address a real OpenSSH host (127.0.0.2, 127.0.0.4, one
 * port), reached through BLUEGREEN_HOST_TEMPLATE. Looked up again at every push; host keys still checked.
 */
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild, runCli, startServe } from '../helpers/bluegreen.js';
import { WorkRepo } from '../helpers/git-repo.js';
import { push } from '../helpers/push-setup.js';
import { ensureTestUser, startSshd } from '../helpers/sshd.js';
import { type FakeDroplet, loadBalancer, startFakeDigitalOcean } from '../fakes/digitalocean-api.js';
import { DIGITALOCEAN_LB_ENV } from '../helpers/found-hosts-env.js';

requireBuild();

const TOKEN = 'dop_v1_d15c0ver5ecret5ecret5ecret5e';

t.test('a push to a colour found by tag: every droplet is a host; one tagged later is deployed to at the next push', async (t) => {
  const user = ensureTestUser();
  const first = await startSshd({ address: '127.0.0.2', user: user.name }, t);
  const second = await startSshd({ address: '127.0.0.4', user: user.name, port: first.port }, t);
  appendFileSync(second.authorizedKeysPath, `${first.clientPublicKey}\n`);
  const dir = mkdtempSync('/tmp/bluegreen-discover-');
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const appRoot = path.join(dir, 'app root');
  mkdirSync(appRoot, { recursive: true });
  chownSync(appRoot, user.uid, user.gid);
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, readFileSync(first.knownHostsPath, 'utf8'));

  // Both sshds share the file system: each "host" is its own app root, named after its address.
  const roots = { '127.0.0.2': path.join(appRoot, '127.0.0.2'), '127.0.0.4': path.join(appRoot, '127.0.0.4') };
  for (const root of Object.values(roots)) {
    mkdirSync(root);
    chownSync(root, user.uid, user.gid);
  }
  const droplets: FakeDroplet[] = [
    { id: 101, name: 'web-blue-1', tags: ['web-blue'], addresses: { private: '127.0.0.2', public: '203.0.113.1' } },
    { id: 201, name: 'web-green-1', tags: ['web-green'], addresses: { private: '127.0.0.3', public: '203.0.113.3' } },
  ];
  const api = await startFakeDigitalOcean({ token: TOKEN, droplets, reservedIps: {}, loadBalancers: [loadBalancer('lb-1', 'web-lb', { tag: 'web-green' })] });
  t.teardown(() => api.close());

  const env = {
    BLUEGREEN_DATA_DIR: path.join(dir, 'data'),
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUEGREEN_SSH_KEY: first.clientKeyPath,
    BLUEGREEN_KNOWN_HOSTS: knownHosts,
    ...DIGITALOCEAN_LB_ENV,
    DIGITALOCEAN_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
    BLUEGREEN_HOST_TEMPLATE: `ssh://${user.name}@{ip}:${first.port}${encodeURI(appRoot)}/{ip}`,
  };
  const added = await runCli(dir, ['user', 'add', 'alice'], env);
  t.equal(added.code, 0, added.stderr);
  const token = added.stdout.split('\n')[1] ?? '';
  const server = await startServe(dir, env, t);
  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  work.git('remote', 'add', 'blue', `http://alice:${token}@${new URL(server.gitUrl).host}/blue.git`);

  work.write('index.html', 'v1');
  const v1 = work.commit('v1');
  const one = await push(work, 'blue', 'main');
  t.equal(one.code, 0, one.output);
  t.equal(readFileSync(path.join(roots['127.0.0.2'], 'current', 'REVISION'), 'utf8'), `${v1}\n`, 'the tagged droplet got v1');

  // Autoscaling tags a second droplet: the next push finds it, and its host key is checked.
  droplets.push({ id: 102, name: 'web-blue-2', tags: ['web-blue'], addresses: { private: '127.0.0.4', public: '203.0.113.4' } });
  work.write('index.html', 'v2');
  const v2 = work.commit('v2');
  const unknown = await push(work, 'blue', 'main');
  t.not(unknown.code, 0, 'a host whose key is not in known_hosts is refused');
  const offered = second.hostPublicKey.split(' ')[1] ?? '';
  const fingerprint = `SHA256:${(await import('node:crypto')).createHash('sha256').update(Buffer.from(offered, 'base64')).digest('base64').replace(/=+$/, '')}`;
  t.match(unknown.output, `host key of 127.0.0.4:${first.port} is not known: it offered ${fingerprint}`);
  t.equal(readFileSync(path.join(roots['127.0.0.2'], 'current', 'REVISION'), 'utf8'), `${v1}\n`, 'no host switched');

  appendFileSync(knownHosts, readFileSync(second.knownHostsPath, 'utf8'));
  const both = await push(work, 'blue', 'main');
  t.equal(both.code, 0, both.output);
  t.match(both.output, /remote: deploying [0-9a-f]{12} to blue on 2 hosts/);
  t.match(both.output, new RegExp(`remote: \\[${user.name}@127\\.0\\.0\\.4:${first.port}\\] files: 1 \\(full deploy\\)`));
  for (const root of Object.values(roots)) t.equal(readFileSync(path.join(root, 'current', 'REVISION'), 'utf8'), `${v2}\n`);
  t.equal(readlinkSync(path.join(roots['127.0.0.2'], 'current')), readlinkSync(path.join(roots['127.0.0.4'], 'current')), 'one release id on both');
  t.ok(
    api.requests.filter((r) => r.line.startsWith('GET /v2/droplets?tag_name=web-blue')).length >= 3,
    'the tag was looked up at every push',
  );

  // The droplet leaves the tag: the next push is to the first alone.
  droplets[2]!.tags = [];
  work.write('index.html', 'v3');
  const v3 = work.commit('v3');
  const alone = await push(work, 'blue', 'main');
  t.equal(alone.code, 0, alone.output);
  t.equal(readFileSync(path.join(roots['127.0.0.2'], 'current', 'REVISION'), 'utf8'), `${v3}\n`);
  t.equal(readFileSync(path.join(roots['127.0.0.4'], 'current', 'REVISION'), 'utf8'), `${v2}\n`, 'the host that left was not deployed to');
});
