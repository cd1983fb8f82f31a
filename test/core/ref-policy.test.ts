import t from 'tap';
import { decidePushFlip, decideRefUpdates } from '../../src/core/ref-policy.js';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const zero = '0'.repeat(40);

t.test('only main deploys; other refs are stored', async (t) => {
  const decision = decideRefUpdates([
    { oldrev: zero, newrev: a, ref: 'refs/heads/feature' },
    { oldrev: a, newrev: b, ref: 'refs/heads/main' },
    { oldrev: zero, newrev: a, ref: 'refs/tags/v1' },
  ]);
  t.same(decision.deploy, { oldrev: a, newrev: b, ref: 'refs/heads/main' });
  t.same(decision.stored, ['refs/heads/feature', 'refs/tags/v1']);
  t.same(decideRefUpdates([{ oldrev: zero, newrev: a, ref: 'refs/heads/dev' }]).deploy, undefined);
});

t.test('deleting main is refused; deleting other branches is fine', async (t) => {
  t.throws(() => decideRefUpdates([{ oldrev: a, newrev: zero, ref: 'refs/heads/main' }]), {
    message: 'refused: deleting main is not allowed, it names what the host serves',
  });
  t.same(decideRefUpdates([{ oldrev: a, newrev: zero, ref: 'refs/heads/old' }]).stored, ['refs/heads/old']);
});

t.test('malformed updates are refused', async (t) => {
  t.throws(() => decideRefUpdates([{ oldrev: 'x', newrev: a, ref: 'refs/heads/main' }]), { message: 'refused: malformed update of refs/heads/main' });
});

t.test('refused for the whole push: refs outside branches and tags, a tag named main, non-commits on branches, unknown options', async (t) => {
  const main = { oldrev: a, newrev: b, ref: 'refs/heads/main' };
  t.throws(() => decideRefUpdates([main, { oldrev: zero, newrev: a, ref: 'refs/notes/commits' }]), {
    message: 'refused: refs/notes/commits is not a branch or a tag; bluegreen keeps only refs/heads/* and refs/tags/*, and nothing of this push was taken',
  });
  t.throws(() => decideRefUpdates([{ oldrev: zero, newrev: a, ref: 'refs/tags/main' }]), { message: /^refused: a tag named main would make `main` ambiguous/ });
  t.throws(() => decideRefUpdates([main], [], new Map([[b, 'tag']])), {
    message: 'refused: refs/heads/main would point at a tag object (bbbbbbbbbbbb), and a branch must point at a commit; nothing of this push was taken',
    hint: 'push the commit itself: `git push REMOTE main^{commit}:main`',
  });
  t.throws(() => decideRefUpdates([{ oldrev: zero, newrev: a, ref: 'refs/heads/docs' }], [], new Map([[a, 'tree']])), { message: /refs\/heads\/docs would point at a tree object/ });
  t.same(decideRefUpdates([{ oldrev: zero, newrev: a, ref: 'refs/tags/v1' }], [], new Map([[a, 'tag']])).stored, ['refs/tags/v1'], 'a tag object is fine on a tag');
  t.throws(() => decideRefUpdates([main], ['force-live', 'fliplive']), {
    message: 'refused: unknown push option "fliplive"; nothing was deployed',
    hint: 'bluegreen understands -o force-live, -o flip, -o no-flip',
  });
  t.same(decideRefUpdates([main], ['force-live']).options, ['force-live']);
  t.same(decideRefUpdates([main], ['flip', 'force-live']).options, ['flip', 'force-live']);
  t.throws(() => decideRefUpdates([main], ['flip', 'no-flip']), {
    message: 'refused: -o flip and -o no-flip contradict each other; nothing was deployed',
    hint: /^give one of them/,
  });
});

t.test('a push flips when asked, or by the lifecycle default unless it opts out', async (t) => {
  t.equal(decidePushFlip(['flip'], false), 'flip');
  t.equal(decidePushFlip(['flip'], true), 'flip');
  t.equal(decidePushFlip([], true), 'auto');
  t.equal(decidePushFlip(['force-live'], true), 'auto', 'the caller skips an automatic flip to the colour already live');
  t.equal(decidePushFlip(['no-flip'], true), undefined);
  t.equal(decidePushFlip([], false), undefined);
});
