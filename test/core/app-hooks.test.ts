import t from 'tap';
import { findHooks, hookEnvironment, hookFailure } from '../../src/core/app-hooks.js';
import { hookCommand } from '../../src/core/hook-command.js';

const entry = (path: string, mode = '100755') => ({ path, mode, blob: '0'.repeat(40) });

t.test('which hooks run, and a line for each one that does not', async (t) => {
  const hooks = findHooks([entry('.bluegreen/hooks/build'), entry('.bluegreen/hooks/restart', '100644'), entry('index.html', '100644')]);
  t.same([...hooks.run], ['build']);
  t.same(hooks.skipped, [
    'migrate: skipped: the commit has no .bluegreen/hooks/migrate',
    'restart: skipped: .bluegreen/hooks/restart is not executable (`git update-index --chmod=+x .bluegreen/hooks/restart` and commit)',
  ]);
  t.same(findHooks([entry('index.html', '100644')]), { run: new Set(), skipped: [] }, 'a tree without hooks says nothing');
  t.same([...findHooks([entry('.bluegreen/hooks/migrate', '120000')]).run], ['migrate'], 'a symlink runs (the host checks it)');
});

t.test('the environment and the failure message', async (t) => {
  const env = hookEnvironment({ colour: 'blue', revision: 'r', release: 'id', appRoot: '/srv/app/', previous: undefined, host: 'h', pusher: 'p', live: true });
  t.ok(env.includes('BLUEGREEN_RELEASE_DIR=/srv/app/releases/id'));
  t.ok(env.includes('BLUEGREEN_PREVIOUS_RELEASE_DIR='), 'empty on a first deploy');
  t.ok(env.includes('BLUEGREEN_LIVE=true'));
  t.equal(hookFailure('build', { code: 0, timedOut: false, timeoutSeconds: 9, lastLines: [] }), undefined);
  t.equal(hookFailure('migrate', { code: 2, timedOut: false, timeoutSeconds: 9, lastLines: [] }), 'the migrate hook failed (exit code 2)');
  t.throws(() => hookCommand({ dir: '/x', hook: 'build', timeoutSeconds: 0, sweep: true, env: [] }), { message: 'bad hook timeout 0' });
  t.throws(() => hookCommand({ dir: '/x', hook: 'build', timeoutSeconds: 1, sweep: true, env: ['lower=x'] }), { message: 'bad hook environment lower=x' });
});
