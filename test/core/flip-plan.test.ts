import t from 'tap';
import { type FlipFacts, describeFlipPlan, planFlip, rollbackTarget } from '../../src/core/flip-plan.js';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const facts = (over: Partial<FlipFacts> = {}): FlipFacts => ({
  target: 'green',
  live: 'blue',
  deployed: { blue: a, green: b },
  busy: {},
  hostUrls: { blue: ['http://blue/'], green: ['http://green/'] },
  publicUrl: 'http://prod/',
  healthPath: '/health',
  provider: 'local router',
  ...over,
});

t.test('a flip verifies the target, moves, verifies through the public address; flips back on failure', async (t) => {
  const plan = planFlip(facts());
  t.equal(plan.from, 'blue');
  t.equal(plan.revision, b);
  t.same(plan.steps.map((s) => s.step), ['verify-host', 'move', 'verify-public']);
  t.same(plan.flipBack, [
    { step: 'move', to: 'blue', provider: 'local router' },
    { step: 'verify-public', colour: 'blue', url: 'http://prod/', healthPath: '/health', revision: a },
  ]);
  t.same(describeFlipPlan(plan), [
    'flip blue -> green (bbbbbbbbbbbb)',
    '  1. check green at http://green/: /health answers 2xx and /REVISION is bbbbbbbbbbbb',
    '  2. move traffic to green (local router)',
    "  3. check http://prod/: /REVISION is green's bbbbbbbbbbbb",
    "  if step 3 fails: move traffic to blue (local router), then check http://prod/: /REVISION is blue's aaaaaaaaaaaa",
  ]);
});

t.test('the first flip has nothing to flip back to', async (t) => {
  const plan = planFlip(facts({ live: undefined }));
  t.same(plan.flipBack, []);
  t.equal(describeFlipPlan(plan)[0], 'flip nothing -> green (bbbbbbbbbbbb)');
});

t.test('flipping to the live colour only verifies it', async (t) => {
  const plan = planFlip(facts({ live: 'green' }));
  t.ok(plan.alreadyLive);
  t.same(plan.steps.map((s) => s.step), ['verify-host']);
  t.equal(describeFlipPlan(plan)[0], 'green is live already; the flip would only verify it');
});

t.test('refusals', async (t) => {
  t.throws(() => planFlip(facts({ deployed: { blue: a } })), { message: 'refused: nothing has been deployed to green', hint: 'deploy first: git push green main' });
  t.throws(() => planFlip(facts({ busy: { green: { holder: 'alice', purpose: 'deploy' } } })), { message: 'refused: green is busy with a deploy by alice' });
  t.throws(() => planFlip(facts({ busy: { blue: { holder: 'bob', purpose: 'flip' } } })), {
    message: 'refused: blue is busy with a flip by bob, and a flip moves traffic between both colours',
    hint: 'flip when it is done (`bluegreen status` shows locks)',
  });
  t.throws(() => planFlip(facts({ publicUrl: undefined })), { message: /BLUEGREEN_PUBLIC_URL is not set/, exitCode: 2 });
});

t.test('rollback goes to the colour that was live before the last flip', async (t) => {
  t.equal(rollbackTarget({ from: 'blue', to: 'green' }), 'blue');
  t.throws(() => rollbackTarget(undefined), { message: 'refused: there is no flip to roll back' });
  t.throws(() => rollbackTarget({ from: undefined, to: 'green' }), { message: 'refused: no colour was live before the last flip to green' });
});

t.test('a colour of several hosts: every host is verified before traffic moves, each named when it fails', async (t) => {
  const plan = planFlip(facts({ hostUrls: { blue: ['http://blue/'], green: ['http://g1/', 'http://g2/'] } }));
  t.same(plan.steps.map((s) => (s.step === 'verify-host' ? `${s.step} ${s.url} of ${s.hosts}` : s.step)), [
    'verify-host http://g1/ of 2',
    'verify-host http://g2/ of 2',
    'move',
    'verify-public',
  ]);
});
