import t from 'tap';
import { parseLsTree, parseRawDiff } from '../../src/core/tree-changes.js';

t.test('raw diff records with odd names', async (t) => {
  const z = '0'.repeat(40);
  const x = 'x'.repeat(40);
  const raw = [
    `:000000 100644 ${z} ${x} A`, 'new file.txt',
    `:100644 100755 ${x} ${x} M`, 'bin/run',
    `:100644 000000 ${x} ${z} D`, 'line\nbreak',
    `:100644 120000 ${x} ${x} T`, 'ünï',
    '',
  ].join('\0');
  t.same(parseRawDiff(raw), [
    { status: 'added', path: 'new file.txt', mode: '100644', blob: x },
    { status: 'modified', path: 'bin/run', mode: '100755', blob: x },
    { status: 'deleted', path: 'line\nbreak', mode: undefined, blob: undefined },
    { status: 'type-changed', path: 'ünï', mode: '120000', blob: x },
  ]);
  t.same(parseRawDiff(''), []);
  t.throws(() => parseRawDiff(`:100644 100644 ${x} ${x} R100\0a\0`), { message: /unexpected git diff entry/ });
});

t.test('ls-tree records; submodules are skipped', async (t) => {
  const x = 'x'.repeat(40);
  t.same(parseLsTree(`100644 blob ${x}\ta\tb\x00160000 commit ${x}\tsub\x00120000 blob ${x}\tlink\0`), [
    { mode: '100644', blob: x, path: 'a\tb' },
    { mode: '120000', blob: x, path: 'link' },
  ]);
  t.same(parseLsTree(''), []);
});

t.test('ls-tree records of one mode only', async (t) => {
  const x = 'x'.repeat(40);
  const output = `100644 blob ${x}\t120000 blob not-a-link\x00120000 blob ${x}\tlink\ttab\x00100755 blob ${x}\trun\x00120000 blob ${x}\tlast`;
  t.same(parseLsTree(output, '120000'), [
    { mode: '120000', blob: x, path: 'link\ttab' },
    { mode: '120000', blob: x, path: 'last' },
  ]);
  t.same(parseLsTree(output, '100755'), [{ mode: '100755', blob: x, path: 'run' }]);
  t.same(parseLsTree(output).length, 4);
});
