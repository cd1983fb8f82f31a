import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { bundleEntries, remoteArgv, type BundleEntry } from '../../src/core/provision-plan.js';
import { bundleTar } from '../../src/provision/bundle-tar.js';
import { bundleRoot, loadBundle } from '../../src/provision/run-provision.js';

/** Unpacks `tar` as the host's BOOTSTRAP does, into a fresh temp dir. */
function extract(t: Test, tar: Buffer): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner'], { input: tar });
  t.equal(r.status, 0, r.stderr.toString());
  return dir;
}

const mode = (file: string): number => statSync(file).mode & 0o7777;

t.test('the real bundle: GNU tar unpacks provision.sh and the templates with their modes and contents, owned by root, dated 1970', async (t) => {
  const root = bundleRoot();
  const tar = await bundleTar(bundleEntries(loadBundle(root)));
  t.equal(tar.length % 512, 0);
  t.same(await bundleTar(bundleEntries(loadBundle(root))), tar, 'the same bundle gives the same bytes');

  const list = spawnSync('tar', ['-t', '-v', '--numeric-owner', '-f', '-'], { input: tar, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  t.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  t.same(
    lines.map((line) => line.split(/\s+/).pop()),
    ['templates/', 'provision.sh', 'templates/apache-site.conf', 'templates/apache-ports.conf', 'templates/nginx-site.conf', 'templates/sudoers', 'templates/index.html'],
  );
  for (const line of lines) t.match(line, /^[-d]rw[-x]r-[-x]r-[-x] 0\/0 +\d+ 1970-01-01 00:00 /, line);

  const dir = extract(t, tar);
  t.same(readdirSync(dir).sort(), ['provision.sh', 'templates']);
  t.same(readdirSync(path.join(dir, 'templates')).sort(), ['apache-ports.conf', 'apache-site.conf', 'index.html', 'nginx-site.conf', 'sudoers']);
  t.equal(mode(path.join(dir, 'templates')), 0o755);
  t.equal(mode(path.join(dir, 'provision.sh')), 0o755);
  t.same(readFileSync(path.join(dir, 'provision.sh')), readFileSync(path.join(root, 'provisioning', 'provision.sh')));
  for (const name of readdirSync(path.join(dir, 'templates'))) {
    t.equal(mode(path.join(dir, 'templates', name)), 0o644, name);
    t.same(readFileSync(path.join(dir, 'templates', name)), readFileSync(path.join(root, 'templates', name)), name);
  }
  t.equal(statSync(path.join(dir, 'provision.sh')).mtimeMs, 0);
});

t.test('any entries: padding past 512 bytes, UTF-8 text, empty files, directory modes', async (t) => {
  const big = Buffer.alloc(1500, 7);
  const entries: BundleEntry[] = [
    { type: 'directory', path: 'd/', mode: 0o750 },
    { type: 'file', path: 'd/big.bin', mode: 0o600, content: big },
    { type: 'file', path: 'x.sh', mode: 0o755, content: 'é\n' },
    { type: 'file', path: 'empty', mode: 0o644, content: '' },
  ];
  const dir = extract(t, await bundleTar(entries));
  t.same(readFileSync(path.join(dir, 'd/big.bin')), big);
  t.equal(mode(path.join(dir, 'd/big.bin')), 0o600);
  t.equal(mode(path.join(dir, 'd')), 0o750);
  t.equal(readFileSync(path.join(dir, 'x.sh'), 'utf8'), 'é\n');
  t.equal(mode(path.join(dir, 'x.sh')), 0o755);
  t.equal(statSync(path.join(dir, 'empty')).size, 0);
});

t.test('the bootstrap unpacks the tar stream and runs provision.sh with the arguments, stdin closed', async (t) => {
  const files = loadBundle().map((file) =>
    file.path === 'provision.sh'
      ? { ...file, content: 'printf "%s|" "$@"; cat; echo "templates: $(ls "$(dirname "$0")/templates" | wc -l)"\n' }
      : file,
  );
  const argv = remoteArgv(['a b', "it's"], { sudo: false });
  const r = spawnSync(argv[0]!, argv.slice(1), { input: await bundleTar(bundleEntries(files)), encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, "a b|it's|templates: 5\n");

  const broken = spawnSync(argv[0]!, argv.slice(1), { input: Buffer.from('not a tar stream\n'.repeat(64)), encoding: 'utf8' });
  t.equal(broken.status, 71);
  t.equal(broken.stdout, 'error bad-state: cannot unpack the provisioning bundle\n');
});
