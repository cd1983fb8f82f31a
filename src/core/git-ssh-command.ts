/**
 * What a git-over-SSH client may ask for: `git-receive-pack '/blue.git'` or `git-upload-pack 'green.git'`,
 * quoted the way git quotes it (single quotes; `'\''` and `'\!'` inside). The command is split into words as a
 * shell would, never on spaces, and anything a shell would treat as more than words is refused outright.
 */
import type { Colour } from './colour.js';

export type GitService = 'git-receive-pack' | 'git-upload-pack';

export type GitSshRequest = { service: GitService; colour: Colour } | { refusal: string };

export const NOT_SERVED = 'bluegreen: only git push and fetch are served here (git-receive-pack or git-upload-pack of /blue.git or /green.git)';

/** The words of `command` as a POSIX shell splits them, or undefined when it holds more than quoted words. */
export function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      const next = command[i + 1];
      if (next === undefined || next === '\n') return undefined;
      word = (word ?? '') + next;
      i++;
    } else if (/[A-Za-z0-9_./:@%+,=-]/.test(c)) {
      word = (word ?? '') + c;
    } else {
      // $ ` " ; & | < > ( ) * ? [ ~ # ! newline, control characters, anything not plain.
      return undefined;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** How a name is shown in a refusal: quoted, bounded, control characters escaped. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** The git service and repository `command` asks for, or the one line that refuses it. */
export function parseGitSshCommand(command: string): GitSshRequest {
  const words = shellWords(command);
  if (!words || words.length !== 2 || (words[0] !== 'git-receive-pack' && words[0] !== 'git-upload-pack')) return { refusal: NOT_SERVED };
  const repo = /^\/?(blue|green)\.git$/.exec(words[1]!);
  if (!repo) return { refusal: `bluegreen: there is no repository ${shown(words[1]!)} here: the repositories are /blue.git and /green.git` };
  return { service: words[0], colour: repo[1] as Colour };
}
