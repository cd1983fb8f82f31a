import t from 'tap';
import { NOT_SERVED, parseGitSshCommand, shellWords } from '../../src/core/git-ssh-command.js';

t.test('shell words: quotes as git writes them, never a split on spaces, nothing a shell would run', async (t) => {
  t.same(shellWords("git-receive-pack '/blue.git'"), ['git-receive-pack', '/blue.git']);
  t.same(shellWords("git-upload-pack '/my repo.git'"), ['git-upload-pack', '/my repo.git'], 'a quoted space stays in the word');
  t.same(shellWords("git-upload-pack 'it'\\''s'"), ['git-upload-pack', "it's"], "git's '\\'' for a quote");
  t.same(shellWords("git-upload-pack 'wow'\\!'.git'"), ['git-upload-pack', 'wow!.git'], "git's '\\!' for a !");
  t.same(shellWords('  a   b  '), ['a', 'b']);
  t.same(shellWords("''"), [''], 'an empty quoted word is a word');
  for (const command of ["a 'b", 'a\\', 'a "b"', 'a $(id)', 'a `id`', 'a; b', 'a | b', 'a && b', 'a > f', 'a\nb', 'a*', 'a ~', 'a #c']) {
    t.equal(shellWords(command), undefined, JSON.stringify(command));
  }
});

t.test('only receive-pack and upload-pack of blue.git and green.git', async (t) => {
  t.same(parseGitSshCommand("git-receive-pack '/blue.git'"), { service: 'git-receive-pack', colour: 'blue' });
  t.same(parseGitSshCommand("git-upload-pack 'green.git'"), { service: 'git-upload-pack', colour: 'green' });
  t.same(parseGitSshCommand("git-upload-pack '/gr'\\''een.git'"), {
    refusal: 'bluegreen: there is no repository "/gr\'een.git" here: the repositories are /blue.git and /green.git',
  });
  t.same(parseGitSshCommand(`git-upload-pack '${'x'.repeat(100)}'`), {
    refusal: `bluegreen: there is no repository "${'x'.repeat(80)}…" here: the repositories are /blue.git and /green.git`,
  }, 'a long name is cut');
  t.same(parseGitSshCommand("git-upload-pack '/a\tb'"), {
    refusal: 'bluegreen: there is no repository "/a\\tb" here: the repositories are /blue.git and /green.git',
  }, 'control characters are escaped');
  for (const command of ['', 'git-upload-pack', "git-upload-archive '/blue.git'", "git-upload-pack '/blue.git' x", "sh -c 'git-upload-pack /blue.git'"]) {
    t.same(parseGitSshCommand(command), { refusal: NOT_SERVED }, JSON.stringify(command));
  }
});
