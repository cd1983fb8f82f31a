import t from 'tap';
import { execFileSync } from 'node:child_process';
import { quoteArg, shellQuote } from '../../../src/adapters/transport/shell-quote.js';

/** Runs `printf '%s\0' <quoted argv>` through a real POSIX shell and returns the argv it received. */
function roundTrip(argv: readonly string[], shell = 'sh'): string[] {
  const script = `printf '%s\\0' ${shellQuote(argv)}`;
  const out = execFileSync(shell, ['-c', script]);
  const parts = out.toString('utf8').split('\0');
  parts.pop(); // after the last NUL
  return parts;
}

const awkward = [
  'plain',
  'with space',
  '  leading and trailing  ',
  "it's",
  "''",
  "'",
  '"double"',
  'back\\slash',
  '$HOME',
  '${PATH}',
  '`id`',
  '$(id)',
  'a;b',
  'a&&b',
  'a|b',
  '>out',
  '<in',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '#comment',
  '!',
  '-rf',
  '--',
  '-',
  'line1\nline2',
  '\n',
  'tab\there',
  '',
  'ünïcødé ✓ 日本語 🙂',
  'A=b',
  '%1',
  '\x01\x7f',
  "mix 'of' \"all\" $x `y` \\ \n end",
];

t.test('every awkward argument survives a real sh intact, one argv element each', async (t) => {
  t.same(roundTrip(awkward), awkward);
  for (const arg of awkward) t.same(roundTrip([arg]), [arg], JSON.stringify(arg));
});

t.test('also with bash, which the remote login shell may be', async (t) => {
  t.same(roundTrip(awkward, 'bash'), awkward);
});

t.test('the empty string is an argument, not nothing', async (t) => {
  t.equal(shellQuote(['']), "''");
  t.same(roundTrip(['', 'x', '']), ['', 'x', '']);
});

t.test('safe words stay bare for readable logs; everything else is single-quoted', async (t) => {
  t.equal(shellQuote(['tar', '-x', '-C', '/var/www/app/releases/20240101000000-abc']), 'tar -x -C /var/www/app/releases/20240101000000-abc');
  t.equal(quoteArg('with space'), "'with space'");
  t.equal(quoteArg("it's"), "'it'\\''s'");
  t.equal(quoteArg('A=b'), "'A=b'");
});

t.test('a first word that looks like an assignment is still the command name', async (t) => {
  // If A=b were left bare, sh would run `printf` with A set instead of trying to run a command named "A=b".
  const out = execFileSync('sh', ['-c', `${shellQuote(['A=b'])} 2>&1 || true`]).toString();
  t.match(out, /A=b/);
  t.match(out, /not found/);
});

t.test('a NUL byte cannot be passed through a shell and is refused', async (t) => {
  t.throws(() => shellQuote(['a\0b']), { message: 'a command argument cannot contain a NUL byte' });
});
