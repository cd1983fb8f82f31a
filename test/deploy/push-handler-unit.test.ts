/**
 * The push flow's refusals that a real push cannot reach in order: a reference-transaction `prepared` for an
 * update of main that no pre-receive prepared (a stray `git update-ref`, or another push's ref) is refused.
 */
import t from 'tap';
import type { DeployEngine } from '../../src/deploy/deploy-engine.js';
import { createPushHandler } from '../../src/deploy/push-handler.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

t.test('a prepared update of main with no prepared deploy behind it is refused; other refs pass', async (t) => {
  const engine: DeployEngine = {
    prepare: async () => {
      throw new Error('not asked');
    },
    idle: async () => {},
  };
  const flow = createPushHandler(engine, { log: () => {} });
  const request = (updates: { oldrev: string; newrev: string; ref: string }[]) => ({
    colour: 'blue' as const,
    pusher: 'alice',
    repoDir: '/nonexistent/blue.git',
    receivePackPid: process.pid,
    call: { hook: 'reference-transaction' as const, state: 'prepared' as const, updates },
  });
  await t.rejects(flow.handle(request([{ oldrev: A, newrev: B, ref: 'refs/heads/main' }]), () => {}, new AbortController().signal), {
    message: 'refused: no deploy was prepared for this update of main on blue',
  });
  await flow.handle(request([{ oldrev: A, newrev: B, ref: 'refs/heads/feature' }]), () => {}, new AbortController().signal);
  t.pass('an update of another ref is none of the engine’s business');
  await flow.drain();
});
