import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { MAX_LINKS, type ReleaseEntry, refusedSymlinks, symlinkRefusal } from '../../src/core/symlinks.js';
import { UserError } from '../../src/core/errors.js';

/** A tree of `links` (path -> target) and `files`. */
function tree(links: Record<string, string>, files: string[] = []): ReleaseEntry[] {
  return [
    ...files.map((path) => ({ path, mode: '100644' })),
    ...Object.entries(links).map(([path, target]) => ({ path, mode: '120000', target })),
  ];
}

/** The refused links of a tree, as `path: kind resolved` (only `path` and `why` for invalid ones). */
function verdicts(links: Record<string, string>, files: string[] = []): Record<string, string> {
  const result: Record<string, string> = {};
  for (const r of refusedSymlinks(tree(links, files))) {
    result[r.path] = r.reason.kind === 'outside' ? `outside ${r.reason.resolved}` : r.reason.kind === 'loop' ? 'loop' : `invalid: ${r.reason.why}`;
  }
  return result;
}

t.test('links that stay inside the release are accepted', async (t) => {
  t.same(verdicts({ 'a.html': 'b.html' }, ['b.html']), {});
  t.same(verdicts({ 'docs/a.html': '../index.html' }, ['index.html']), {});
  t.same(verdicts({ 'docs/deep/a': '../../x' }), {});
  t.same(verdicts({ 'dir-link': '.' }), {});
  t.same(verdicts({ 'dir-link': './' }), {});
  t.same(verdicts({ a: 'sub', b: 'a/file', 'd/c': '../x' }, ['sub/file', 'x']), {}, 'a -> sub, b -> a/file, d/c -> ../x');
  t.same(verdicts({ a: 'b', b: 'c', c: 'index.html' }, ['index.html']), {}, 'a link to a link to a link');
  t.same(verdicts({ a: 'sub/deep', b: 'a/../..' }, ['sub/deep/f']), {}, '".." after a link goes to the parent of where it led');
  t.same(verdicts({ a: 'no/such/place' }), {}, 'a dangling link is no escape');
  t.same(verdicts({ 'x/y/z': '../../a', a: 'x' }), {}, 'a link to a directory that holds the link');
});

t.test('a single link that climbs above the root or is absolute escapes', async (t) => {
  t.same(verdicts({ a: '/etc/passwd' }), { a: 'outside /etc/passwd' });
  t.same(verdicts({ a: '/' }), { a: 'outside /' });
  t.same(verdicts({ a: '..' }), { a: 'outside ..' });
  t.same(verdicts({ 'docs/a': '../../etc' }), { 'docs/a': 'outside ../etc' });
  t.same(verdicts({ 'docs/a': 'x/../../../y' }), { 'docs/a': 'outside ../y' });
  t.same(verdicts({ 'docs/a': '../docs/../..' }), { 'docs/a': 'outside ..' });
});

t.test('a link through another link of the tree escapes', async (t) => {
  t.same(verdicts({ a: '.', b: 'a/../..' }), { b: 'outside ../..' }, 'a -> ., b -> a/../..');
  // The lexical reading of each target alone stays inside: only following `a` shows the climb.
  t.same(verdicts({ a: '.', b: 'a/..' }), { b: 'outside ..' });
  t.same(verdicts({ a: '.', b: 'a/a/a/../../../etc/passwd' }), { b: 'outside ../../../etc/passwd' });
  t.same(verdicts({ 'd/a': '..', 'd/b': 'a/../x' }), { 'd/b': 'outside ../x' }, 'd/a -> .. is the root; d/b goes one above');
  t.same(verdicts({ a: 'b', b: '/etc' }), { a: 'outside /etc', b: 'outside /etc' }, 'a link to an absolute link');
  t.same(verdicts({ a: 'b/passwd', b: 'c', c: '..' }), { a: 'outside ../passwd', b: 'outside ..', c: 'outside ..' }, 'a chain whose last link climbs');
});

t.test('links through directories that are links', async (t) => {
  t.same(verdicts({ up: 'sub/deeper', a: 'up/../../..' }, ['sub/deeper/f']), { a: 'outside ..' });
  t.same(verdicts({ s: 'sub/x', a: 's/../../../x' }, ['sub/x/f']), { a: 'outside ../x' });
  // A tree can't hold both `d` as a link and `d/x`, but a crafted one could: walking the link is the risky reading.
  t.same(verdicts({ d: '..', 'd/x': 'y' }), { d: 'outside ..', 'd/x': 'outside ../x' });
});

t.test('missing components and files used as directories are taken for plain directories', async (t) => {
  t.same(verdicts({ a: 'missing/../..' }), { a: 'outside ..' });
  t.same(verdicts({ a: 'index.html/../..' }, ['index.html']), { a: 'outside ..' }, 'the kernel would stop (ENOTDIR); we go on');
  t.same(verdicts({ a: 'x/y/../../../z' }), { a: 'outside ../z' });
  t.same(verdicts({ a: '.', b: 'a/missing/../../..' }), { b: 'outside ../..' });
});

t.test('loops and chains longer than the kernel follows are refused', async (t) => {
  t.same(verdicts({ a: 'b', b: 'a' }), { a: 'loop', b: 'loop' });
  t.same(verdicts({ a: 'a' }), { a: 'loop' });
  t.same(verdicts({ a: 'a/x' }), { a: 'loop' }, 'a link through itself');
  t.same(verdicts({ a: 'a/..' }), { a: 'loop' }, 'never gets to the ".."');
  t.same(verdicts({ 'd/a': '../d/b', 'd/b': 'a' }), { 'd/a': 'loop', 'd/b': 'loop' });
  const chain = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, i === n - 1 ? 'index.html' : `l${i + 1}`]));
  t.same(verdicts(chain(MAX_LINKS), ['index.html']), {}, `a chain of ${MAX_LINKS} links resolves`);
  t.same(verdicts(chain(MAX_LINKS + 1), ['index.html']), { l0: 'loop' }, 'one more is too many');
  const long = verdicts({ ...chain(MAX_LINKS), [`l${MAX_LINKS - 1}`]: '..' });
  t.same(long.l0, 'outside ..', 'a long chain that climbs at its end escapes');
});

t.test('a chain of links that each stay inside can climb on the host: the old lexical check missed it', async (t) => {
  // Each `a` is the root; five `..` from the release root reach / on a host whose releases are 5 deep.
  t.same(verdicts({ a: '.', b: 'a/a/a/a/a/../../../../../etc/passwd' }), { b: 'outside ../../../../../etc/passwd' });
  // And a link changed to a link later makes one that was fine escape.
  t.same(verdicts({}, ['a/a/index.html']), {});
  t.same(verdicts({ b: 'a/a/../../x' }, ['a/a/index.html']), {});
  t.same(verdicts({ a: '.', b: 'a/a/../../x' }), { b: 'outside ../../x' });
});

t.test('targets that cannot be links on the host are refused', async (t) => {
  t.same(verdicts({ a: '' }), { a: 'invalid: its target is empty' });
  t.same(verdicts({ a: 'x\0/../../..' }), { a: 'invalid: its target contains a NUL byte' });
  t.same(verdicts({ a: '\uFFFD' }), { a: 'invalid: its path or target is not valid UTF-8' });
  t.same(verdicts({ '\uFFFD': 'x' }), { '\uFFFD': 'invalid: its path or target is not valid UTF-8' });
  t.same(verdicts({ a: 'x/'.repeat(2048) }), { a: 'invalid: its target is longer than the 4095 bytes a symlink holds' });
  t.same(verdicts({ a: `${'x/'.repeat(2047)}y` }), {}, '4095 bytes is fine');
  t.same(verdicts({ a: '', b: 'a/../x' }), { a: 'invalid: its target is empty', b: 'outside ../x' }, 'an empty target is taken for "." (the kernel: ENOENT)');
});

t.test('the chain is reported in the order followed', async (t) => {
  const [b] = refusedSymlinks(tree({ a: '.', b: 'c/a/../..', c: 'a' }));
  t.same(b, {
    path: 'b',
    target: 'c/a/../..',
    chain: [
      { path: 'b', target: 'c/a/../..' },
      { path: 'c', target: 'a' },
      { path: 'a', target: '.' },
      { path: 'a', target: '.' },
    ],
    reason: { kind: 'outside', resolved: '../..' },
  });
});

t.test('the refusal names the link, its target, the chain and a hint', async (t) => {
  const refusal = (links: Record<string, string>) => symlinkRefusal(refusedSymlinks(tree(links)));
  const chained = refusal({ a: '.', b: 'a/../..' });
  t.type(chained, UserError);
  t.equal(
    chained.message,
    'refused: the symlink "b" points outside the release (-> "a/../.."): through "b" -> "a/../..", "a" -> "." it resolves to "../.." (relative to the release root)',
  );
  t.equal(chained.hint, 'make it a relative link that stays inside the repository, also where it goes through other links, or replace it with the file');
  t.equal(
    refusal({ 'assets/passwd': '../../etc/passwd' }).message,
    'refused: the symlink "assets/passwd" points outside the release (-> "../../etc/passwd"): it resolves to "../etc/passwd" (relative to the release root)',
  );
  t.equal(refusal({ a: '/etc/passwd' }).message, 'refused: the symlink "a" points outside the release (-> "/etc/passwd"): it resolves to "/etc/passwd"');
  t.equal(
    refusal({ a: 'b/x', b: '/etc' }).message,
    'refused: the symlink "a" points outside the release (-> "b/x"): through "a" -> "b/x", "b" -> "/etc" it resolves to "/etc/x"; 1 more refused: "b"',
  );

  t.equal(
    refusal({ a: '.', b: 'a/a/a/../../../x' }).message,
    'refused: the symlink "b" points outside the release (-> "a/a/a/../../../x"): through "b" -> "a/a/a/../../../x", "a" -> "." it resolves to "../../../x" (relative to the release root)',
    'each link is named once',
  );

  const loop = refusal({ a: 'b', b: 'a' });
  t.equal(loop.message, 'refused: the symlink "a" never resolves (-> "b"): it loops: "a" -> "b", "b" -> "a", back to "a"; 1 more refused: "b"');
  t.equal(loop.hint, 'point it at a file or directory of the repository, or remove it');
  const long = refusal(Object.fromEntries(Array.from({ length: MAX_LINKS + 1 }, (_, i) => [`l${i}`, i === MAX_LINKS ? 'x' : `l${i + 1}`])));
  t.match(long.message, /^refused: the symlink "l0" never resolves \(-> "l1"\): it goes through more than 40 links: "l0" -> "l1", "l1" -> "l2", "l2" -> "l3", "l3" -> "l4", "l4" -> "l5", "l5" -> "l6", \.\.\.$/);

  const empty = refusal({ a: '' });
  t.equal(empty.message, 'refused: the symlink "a" cannot be checked (-> ""): its target is empty');
  t.equal(empty.hint, 'point it at a file or directory of the repository, or remove it');

  const many = refusal(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, '/'])));
  t.match(many.message, /; 7 more refused: "l1", "l2", "l3", "l4", "l5", \.\.\.$/);
  t.throws(() => symlinkRefusal([]), { message: 'symlinkRefusal needs a refused symlink' });
});

t.test('agrees with the kernel on random trees built on disk', async (t) => {
  // Release at <dir>/l0/l1/release; l0 and l1 hold plain a, b, c too, so a climb lands somewhere that exists.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-symlinks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const names = ['a', 'b', 'c'];
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const compared = { outside: 0, inside: 0, loop: 0 };
  for (let round = 0; round < 200; round++) {
    const base = path.join(dir, String(round));
    const release = path.join(base, 'l0', 'l1', 'release');
    for (const level of [base, path.join(base, 'l0'), path.join(base, 'l0', 'l1')]) for (const n of names) mkdirSync(path.join(level, n), { recursive: true });
    mkdirSync(release);
    const entries: ReleaseEntry[] = [];
    const build = (prefix: string, depth: number) => {
      for (const name of names) {
        const entry = prefix ? `${prefix}/${name}` : name;
        const kind = random();
        if (kind < 0.45) {
          const target = random() < 0.05 ? '/' : Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick([...names, '.', '..', '..'])).join('/');
          symlinkSync(target, path.join(release, entry));
          entries.push({ path: entry, mode: '120000', target });
        } else if (kind < 0.8 && depth < 2) {
          mkdirSync(path.join(release, entry));
          build(entry, depth + 1);
        } else if (kind < 0.9) {
          writeFileSync(path.join(release, entry), '');
          entries.push({ path: entry, mode: '100644' });
        }
      }
    };
    build('', 0);
    const verdict = new Map(refusedSymlinks(entries).map((r) => [r.path, r.reason.kind]));
    for (const entry of entries) {
      if (entry.mode !== '120000') continue;
      let kernel: 'outside' | 'inside' | 'loop';
      try {
        const real = realpathSync.native(path.join(release, entry.path));
        kernel = real === release || real.startsWith(`${release}/`) ? 'inside' : 'outside';
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') kernel = 'loop';
        else if (code === 'ENOENT' || code === 'ENOTDIR') continue; // we are conservative where it depends on what is missing
        else throw error;
      }
      compared[kernel]++;
      const ours = verdict.get(entry.path) ?? 'inside';
      if (ours !== kernel) t.fail(`${entry.path} in ${JSON.stringify(entries)}: kernel ${kernel}, ours ${ours}`);
    }
  }
  t.ok(compared.outside > 100 && compared.inside > 100 && compared.loop > 10, `compared with the kernel: ${JSON.stringify(compared)}`);
});
