import t from 'tap';
import { decideRefUpdates } from '../../src/core/ref-policy.js';

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
