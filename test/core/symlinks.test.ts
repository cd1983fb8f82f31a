import t from 'tap';
import { symlinkStaysInside } from '../../src/core/symlinks.js';

t.test('links inside the release are fine', async (t) => {
  t.ok(symlinkStaysInside('a.html', 'b.html'));
  t.ok(symlinkStaysInside('docs/a.html', '../index.html'));
  t.ok(symlinkStaysInside('docs/deep/a', '../../x'));
  t.ok(symlinkStaysInside('dir-link', '.'));
});

t.test('links that leave the release are refused', async (t) => {
  t.notOk(symlinkStaysInside('a', '/etc/passwd'));
  t.notOk(symlinkStaysInside('a', '..'));
  t.notOk(symlinkStaysInside('docs/a', '../../etc'));
  t.notOk(symlinkStaysInside('docs/a', 'x/../../../y'));
  t.notOk(symlinkStaysInside('a', ''));
});
