import t from 'tap';
import { type TreeChange, fileChanges, parseLsTree, parseRawDiff } from '../../src/core/tree-changes.js';

t.test('raw diff records with odd names, with the old mode', async (t) => {
  const z = '0'.repeat(40);
  const x = 'x'.repeat(40);
  const raw = [
    `:000000 100644 ${z} ${x} A`, 'new file.txt',
    `:100644 100755 ${x} ${x} M`, 'bin/run',
    `:100755 000000 ${x} ${z} D`, 'line\nbreak',
    `:100644 120000 ${x} ${x} T`, 'ünï',
    `:160000 100644 ${x} ${x} T`, 'was-submodule',
    '',
  ].join('\0');
  const changes = parseRawDiff(raw);
  t.same(changes, [
    { status: 'added', path: 'new file.txt', mode: '100644', oldMode: undefined, blob: x },
    { status: 'modified', path: 'bin/run', mode: '100755', oldMode: '100644', blob: x },
    { status: 'deleted', path: 'line\nbreak', mode: undefined, oldMode: '100755', blob: undefined },
    { status: 'type-changed', path: 'ünï', mode: '120000', oldMode: '100644', blob: x },
    { status: 'type-changed', path: 'was-submodule', mode: '100644', oldMode: '160000', blob: x },
  ]);
  t.same(
    changes.map((c) => c.oldMode),
    [undefined, '100644', '100755', '100644', '160000'],
    'the old mode of every entry but an added one',
  );
  t.same(parseRawDiff(''), []);
  t.throws(() => parseRawDiff(`:100644 100644 ${x} ${x} R100\0a\0`), { message: /unexpected git diff entry/ });
});

t.test('fileChanges: what a change of or to a submodule means for the files of a release', async (t) => {
  const x = 'x'.repeat(40);
  const change = (status: TreeChange['status'], oldMode: string | undefined, mode: string | undefined, path = 'p'): TreeChange => ({
    status,
    path,
    mode,
    oldMode,
    blob: mode === undefined ? undefined : x,
  });
  const plain = [
    change('added', undefined, '100644', 'a'),
    change('modified', '100644', '100755', 'b'),
    change('deleted', '120000', undefined, 'c'),
    change('type-changed', '100644', '120000', 'd'),
  ];
  t.same(fileChanges(plain), plain, 'changes between files and links pass through');

  t.same(fileChanges([change('type-changed', '100644', '160000')]), [{ status: 'deleted', path: 'p', mode: undefined, oldMode: '100644', blob: undefined }], 'a file that became a submodule is removed');
  t.same(fileChanges([change('type-changed', '120000', '160000')]), [{ status: 'deleted', path: 'p', mode: undefined, oldMode: '120000', blob: undefined }], 'so is a link');
  t.same(fileChanges([change('type-changed', '160000', '100644')]), [{ status: 'added', path: 'p', mode: '100644', oldMode: undefined, blob: x }], 'a submodule that became a file is added');
  t.same(fileChanges([change('modified', '160000', '160000')]), [], 'a submodule bump is nothing');
  t.same(fileChanges([change('added', undefined, '160000')]), [], 'a new submodule is nothing');
  t.same(fileChanges([change('deleted', '160000', undefined)]), [], 'a removed submodule is nothing');
  t.same(fileChanges([]), []);
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
