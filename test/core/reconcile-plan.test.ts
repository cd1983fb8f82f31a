import t from 'tap';
import { planReconcile } from '../../src/core/reconcile-plan.js';

const main = 'a'.repeat(40);
const other = 'b'.repeat(40);
const rel = (stamp: string, sha: string) => `${stamp}-${sha.slice(0, 12)}`;
const host = (label: string, currentRevision: string | undefined, releases: string[], current = releases.at(-1)) => ({ label, releases, current, currentRevision });

t.test('hosts serving main, history saying so: nothing to do', async (t) => {
  t.same(planReconcile({ colour: 'blue', main, hosts: [host('h1', main, [rel('20260101000000', main)])], recorded: main, activated: undefined }), []);
  t.same(planReconcile({ colour: 'blue', main: undefined, hosts: [host('h1', other, [])], recorded: undefined, activated: undefined }), [], 'never pushed: nothing');
});

t.test('a host on a release git never accepted goes back to the newest release of main', async (t) => {
  const releases = [rel('20260101000000', main), rel('20260102000000', main), rel('20260103000000', other)];
  const steps = planReconcile({ colour: 'blue', main, hosts: [host('h1', other, releases), host('h2', main, releases.slice(0, 2))], recorded: main, activated: undefined });
  t.same(steps, [{ kind: 'activate', host: 'h1', release: rel('20260102000000', main), serving: other }]);
});

t.test('a host with no release of main needs a deploy; nothing is recorded then', async (t) => {
  const steps = planReconcile({ colour: 'green', main, hosts: [host('h1', other, [rel('20260103000000', other)])], recorded: other, activated: undefined });
  t.same(steps, [{ kind: 'deploy-needed', host: 'h1', serving: other }]);
});

t.test('every host on main but history behind: the deploy is recorded', async (t) => {
  const release = rel('20260101000000', main);
  t.same(planReconcile({ colour: 'blue', main, hosts: [host('h1', main, [release])], recorded: other, activated: undefined }), [{ kind: 'record', revision: main, release }]);
});

t.test('an activation stands: a host on the activated revision is left alone', async (t) => {
  const releases = [rel('20260101000000', other), rel('20260102000000', main)];
  t.same(planReconcile({ colour: 'blue', main, hosts: [host('h1', other, releases, releases[0])], recorded: other, activated: other }), []);
});
