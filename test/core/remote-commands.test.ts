import t from 'tap';
import { activateCommand, finalizeCommand, parseInspect, prepareNextCommand, pruneCommand } from '../../src/core/remote-commands.js';

t.test('inspect output is parsed; junk is ignored', async (t) => {
  const state = parseInspect(
    [
      'approot present',
      'writable yes',
      'current releases/20261123000002-bbbbbbbbbbbb',
      `revision ${'b'.repeat(40)}`,
      'release 20261123000002-bbbbbbbbbbbb',
      'release 20261123000001-aaaaaaaaaaaa',
      'release .staging-x',
      'release lost+found',
      '',
    ].join('\n'),
  );
  t.same(state, {
    appRootExists: true,
    writable: true,
    current: '20261123000002-bbbbbbbbbbbb',
    currentRevision: 'b'.repeat(40),
    releases: ['20261123000001-aaaaaaaaaaaa', '20261123000002-bbbbbbbbbbbb'],
  });
  t.same(parseInspect('approot missing\n'), { appRootExists: false, writable: false, current: undefined, currentRevision: undefined, releases: [] });
  const foreign = parseInspect('approot present\nwritable yes\ncurrent /somewhere/else\nrevision ' + 'c'.repeat(40));
  t.equal(foreign.current, undefined, 'a current that points outside releases/ is not ours');
  t.equal(foreign.currentRevision, undefined);
});

t.test('commands refuse values that are not release ids or shas', async (t) => {
  t.throws(() => activateCommand('/a', '../../etc'));
  t.throws(() => pruneCommand('/a', ['-rf']));
  t.throws(() => prepareNextCommand('/a', '..'));
  t.throws(() => finalizeCommand('/a', 'releases/.staging-x', '20261123000001-aaaaaaaaaaaa', 'main'));
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(0, 2), ['sh', '-c']);
  t.same(activateCommand('/a b', '20261123000001-aaaaaaaaaaaa').slice(-2), ['/a b', '20261123000001-aaaaaaaaaaaa'], 'values travel as arguments');
});
