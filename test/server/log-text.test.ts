import t from 'tap';
import { loggable, MAX_LOGGED_CHARS } from '../../src/server/log-text.js';

t.test('short printable text is kept as it is', async (t) => {
  t.equal(loggable('GET /blue.git/info/refs?service=git-upload-pack'), 'GET /blue.git/info/refs?service=git-upload-pack');
  t.equal(loggable('café ✓'), 'café ✓');
});

t.test('control and format characters become ?, so no forged lines or terminal escapes reach the log', async (t) => {
  t.equal(loggable('a\nb\rc\x1b[31md\x00e\x7ff\u0085g\u2028h\u202ei\u200bj'), 'a?b?c?[31md?e?f?g?h?i?j');
});

t.test('long text is cut, saying how much was left out', async (t) => {
  const long = 'x'.repeat(10_000);
  t.equal(loggable(long), `${'x'.repeat(MAX_LOGGED_CHARS)}… (${10_000 - MAX_LOGGED_CHARS} more characters)`);
  t.equal(loggable('abcdef', 3), 'abc… (3 more characters)');
  t.equal(loggable('ab😀', 3), 'ab… (2 more characters)', 'never half a character');
});
