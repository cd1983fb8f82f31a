/**
 * End to end: real `git push` over HTTP to the real `bluegreen serve`, deploying over SSH to real OpenSSH
 * hosts on 127.0.0.2 (blue) and 127.0.0.3 (green) as an unprivileged deploy user.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { requireBuild } from '../helpers/bluegreen.js';
import { push, setupPush } from '../helpers/push-setup.js';

requireBuild();

const setup = setupPush;

t.test('push deploys to the host over SSH, atomically, with progress; later pushes send only changes', async (t) => {
  const { hosts, work, current, branchOf, server } = await setup(t);
  for (let i = 0; i < 300; i++) work.write(`site/page-${i}.html`, `<p>page ${i}</p>`.repeat(50));
  work.write('index.html', '<h1>v1</h1>').write('bin/start', '#!/bin/sh\n', 0o755).write('-dash name', 'd').write('ünï côde.txt', 'u');
  work.symlink('home.html', 'index.html');
  const v1 = work.commit('v1');
  const first = await push(work, 'blue', 'main');
  t.equal(first.code, 0, first.output);
  t.match(first.output, /remote: deploying [0-9a-f]{12} to blue on bluegreen-test@127\.0\.0\.2:\d+/);
  t.match(first.output, /remote: files: 305 \(full deploy\)/);
  t.match(first.output, new RegExp(`remote: deployed ${v1.slice(0, 12)} to blue in \\d+\\.\\d+ s`));
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), '<h1>v1</h1>');
  t.equal(readFileSync(current('blue', 'REVISION'), 'utf8'), `${v1}\n`);
  t.ok(statSync(current('blue', 'bin/start')).mode & 0o100);
  t.equal(readFileSync(current('blue', '-dash name'), 'utf8'), 'd');
  t.equal(readFileSync(current('blue', 'ünï côde.txt'), 'utf8'), 'u');
  t.equal(readlinkSync(current('blue', 'home.html')), 'index.html');
  t.equal(statSync(current('blue', 'index.html')).uid, statSync(hosts.appRoots.blue).uid, 'files belong to the deploy user');
  t.equal(await branchOf('blue'), v1);
  const firstBytes = Number(/sent ([\d.]+) KiB/.exec(first.output)?.[1] ?? 0) * 1024;

  const firstRelease = readlinkSync(path.join(hosts.appRoots.blue, 'current'));
  const firstIndex = readFileSync(path.join(hosts.appRoots.blue, firstRelease, 'index.html'));

  work.write('index.html', '<h1>v2</h1>');
  const v2 = work.commit('v2');
  const second = await push(work, 'blue', 'main');
  t.equal(second.code, 0, second.output);
  t.match(second.output, /remote: files: 0 added, 1 changed, 0 removed since \d{14}-[0-9a-f]{12}/);
  const sent = /sent ([\d.]+) (B|KiB)/.exec(second.output);
  const secondBytes = Number(sent?.[1]) * (sent?.[2] === 'KiB' ? 1024 : 1);
  t.ok(secondBytes < 20 * 1024 && secondBytes < firstBytes / 10, `incremental push sent ${secondBytes} bytes (full: ${firstBytes})`);
  t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), '<h1>v2</h1>');
  t.equal(await branchOf('blue'), v2);

  work.write('index.html', '<h1>v3</h1>').remove('site/page-7.html');
  work.commit('v3');
  t.equal((await push(work, 'blue', 'main')).code, 0);
  t.same(readFileSync(path.join(hosts.appRoots.blue, firstRelease, 'index.html')), firstIndex, 'the first release is unchanged after two more deploys');
  t.ok(lstatSync(path.join(hosts.appRoots.blue, firstRelease, 'site/page-7.html')).isFile());
  t.equal(readdirSync(path.join(hosts.appRoots.blue, 'releases')).filter((name) => !name.startsWith('.')).length, 3);
  t.equal(await server.stop('SIGTERM'), 0, 'SIGTERM shuts the server down cleanly');
});

t.test('other branches and tags are stored, not deployed; deleting main is refused', async (t) => {
  const { work, current, branchOf } = await setup(t);
  work.write('index.html', 'x');
  const sha = work.commit();
  work.git('branch', 'feature');
  work.git('tag', 'v1');
  const result = await push(work, 'green', 'feature', 'v1');
  t.equal(result.code, 0, result.output);
  t.match(result.output, /remote: stored, not deployed: refs\/heads\/feature \(only main deploys\)/);
  t.match(result.output, /remote: stored, not deployed: refs\/tags\/v1/);
  t.throws(() => statSync(current('green')), 'nothing deployed');
  t.equal(await branchOf('green'), '');

  t.equal((await push(work, 'green', 'main')).code, 0);
  const deleted = await push(work, 'green', ':main');
  t.not(deleted.code, 0);
  t.match(deleted.output, /remote: error: refused: deleting main is not allowed/);
  t.equal(await branchOf('green'), sha);
});

t.test('a failed deploy rejects the push and leaves the ref and current as they were', async (t) => {
  const { hosts, work, current, branchOf } = await setup(t);
  work.write('index.html', 'good');
  const good = work.commit();
  t.equal((await push(work, 'blue', 'main')).code, 0);
  const before = readlinkSync(path.join(hosts.appRoots.blue, 'current'));

  t.test('app root not writable', async (t) => {
    chmodSync(hosts.appRoots.blue, 0o555);
    chmodSync(path.join(hosts.appRoots.blue, 'releases'), 0o555);
    t.teardown(() => {
      chmodSync(hosts.appRoots.blue, 0o755);
      chmodSync(path.join(hosts.appRoots.blue, 'releases'), 0o755);
    });
    work.write('index.html', 'bad');
    work.commit();
    const result = await push(work, 'blue', 'main');
    t.not(result.code, 0);
    t.match(result.output, /remote: error: cannot deploy to blue \(bluegreen-test@127\.0\.0\.2:\d+\): the app root .* is not writable by the deploy user/);
    t.match(result.output, /\[remote rejected\] main -> main/);
    t.equal(await branchOf('blue'), good);
    t.equal(readlinkSync(path.join(hosts.appRoots.blue, 'current')), before);
  });

  t.test('host down', async (t) => {
    await hosts.blue.stop();
    const result = await push(work, 'blue', 'main');
    t.not(result.code, 0);
    t.match(result.output, /remote: error: cannot reach 127\.0\.0\.2:\d+/);
    t.equal(await branchOf('blue'), good);
    t.equal(readFileSync(current('blue', 'index.html'), 'utf8'), 'good');
  });
});

t.test('a directory inside the release that the deploy user may not write fails the push, naming the cause', async (t) => {
  const { hosts, work, branchOf } = await setup(t);
  // An operator made a directory read-only on the host: the copy for the next release shares its mode.
  mkdirSync(path.join(work.dir, 'locked'), { recursive: true });
  work.write('locked/page.html', 'v1');
  work.commit();
  t.equal((await push(work, 'blue', 'main')).code, 0);
  const released = readlinkSync(path.join(hosts.appRoots.blue, 'current'));
  const before = await branchOf('blue');
  // Wait for the spare the server makes after the push (a copy of the release), so it is locked too.
  const spare = path.join(hosts.appRoots.blue, 'releases', '.spare');
  while (!existsSync(spare)) await new Promise((r) => setTimeout(r, 20));
  for (const name of readdirSync(path.join(hosts.appRoots.blue, 'releases'))) {
    const locked = path.join(hosts.appRoots.blue, 'releases', name, 'locked');
    if (existsSync(locked)) chmodSync(locked, 0o555);
  }
  work.write('locked/page.html', 'v2');
  work.commit();
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0);
  t.match(result.output, /remote: error: sending files failed on blue \(bluegreen-test@127\.0\.0\.2:\d+\): a directory in the release is not writable by the deploy user \(tar: locked\/page\.html: Cannot open: File exists\)/);
  t.match(result.output, /remote: hint: make the releases writable again on the host \(chmod -R u\+w /);
  t.equal(await branchOf('blue'), before);
  t.equal(readlinkSync(path.join(hosts.appRoots.blue, 'current')), released);
});

t.test('a changed host key is refused, showing the offered fingerprint', async (t) => {
  const { hosts, work, branchOf } = await setup(t);
  await hosts.green.restart({ newHostKey: true });
  // The test harness rewrote its own known_hosts; bluegreen's still has the old key.
  work.write('index.html', 'x');
  work.commit();
  const result = await push(work, 'green', 'main');
  t.not(result.code, 0);
  t.match(result.output, /remote: error: .*host key of 127\.0\.0\.3:\d+ (has )?CHANGED.*SHA256:[A-Za-z0-9+/]{43}/i);
  t.equal(await branchOf('green'), '');
});

t.test('an escaping symlink is refused, naming it', async (t) => {
  const { work, branchOf } = await setup(t);
  work.write('index.html', 'x').symlink('static/secrets', '../../../etc');
  work.commit();
  const result = await push(work, 'blue', 'main');
  t.not(result.code, 0);
  t.match(result.output, /remote: error: refused: the symlink "static\/secrets" points outside the release/);
  t.equal(await branchOf('blue'), '');
});

t.test('a symlink escaping through another link of the tree is refused, on a first push and on a later one', async (t) => {
  const { hosts, work, branchOf } = await setup(t);
  const currentLink = path.join(hosts.appRoots.blue, 'current');
  const hint = 'remote: hint: make it a relative link that stays inside the repository, also where it goes through other links, or replace it with the file';
  // Each `a` is the release root; the releases are 5 directories below / on this host. The lexical check used
  // to accept `passwd` (its text normalizes to "etc/passwd"), and the host then served /etc/passwd.
  const passwd = 'a/a/a/a/a/a/../../../../../../etc/passwd';
  work.write('index.html', 'x').symlink('a', '.').symlink('b', 'a/../..').symlink('passwd', passwd);
  work.commit();
  const full = await push(work, 'blue', 'main');
  t.not(full.code, 0);
  t.match(
    full.output,
    'remote: error: refused: the symlink "b" points outside the release (-> "a/../.."): through "b" -> "a/../..", "a" -> "." it resolves to "../.." (relative to the release root); 1 more refused: "passwd"',
  );
  t.match(full.output, hint);
  t.match(full.output, /\[remote rejected\] main -> main/);
  t.equal(await branchOf('blue'), '');
  t.throws(() => lstatSync(currentLink), 'nothing was deployed');

  work.remove('b').remove('passwd');
  const good = work.commit();
  t.equal((await push(work, 'blue', 'main')).code, 0);
  const before = readlinkSync(currentLink);

  // Incremental deploys: the new link is the diff; the link it escapes through was deployed before.
  work.symlink('b', 'a/../..');
  work.commit();
  const later = await push(work, 'blue', 'main');
  t.not(later.code, 0);
  t.match(later.output, 'remote: error: refused: the symlink "b" points outside the release (-> "a/../.."): through "b" -> "a/../..", "a" -> "." it resolves to "../.." (relative to the release root)');
  t.match(later.output, hint);
  work.remove('b').symlink('passwd', passwd);
  work.commit();
  const exploit = await push(work, 'blue', 'main');
  t.not(exploit.code, 0);
  t.match(
    exploit.output,
    `remote: error: refused: the symlink "passwd" points outside the release (-> "${passwd}"): through "passwd" -> "${passwd}", "a" -> "." it resolves to "../../../../../../etc/passwd" (relative to the release root)`,
  );
  t.equal(await branchOf('blue'), good);
  t.equal(readlinkSync(currentLink), before, 'current did not change');
  t.notOk(existsSync(path.join(currentLink, 'passwd')), 'the host serves no passwd');
});
