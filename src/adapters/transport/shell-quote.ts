/**
 * POSIX shell quoting for remote commands — the ONLY place a command line for a remote shell is built.
 *
 * Every argument is wrapped in single quotes, inside which a POSIX shell treats every byte literally;
 * a single quote itself is written as `'\''` (close, escaped quote, reopen). Arguments made only of
 * characters that are never special are left bare, for readable logs. The empty string becomes `''`.
 */
// No `=`: a bare first word `A=b` would be taken as a variable assignment.
const SAFE = /^[A-Za-z0-9_@%+:,./-]+$/;

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) {
    throw new Error('a command argument cannot contain a NUL byte');
  }
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function shellQuote(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}
