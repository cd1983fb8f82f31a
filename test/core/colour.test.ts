import t from 'tap';
import { isColour, otherColour } from '../../src/core/colour.js';

t.test('colours', async (t) => {
  t.ok(isColour('blue'));
  t.ok(isColour('green'));
  t.notOk(isColour('red'));
  t.notOk(isColour('Blue'));
  t.equal(otherColour('blue'), 'green');
  t.equal(otherColour('green'), 'blue');
});
