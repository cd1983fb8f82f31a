/** The longest piece of request data (a URL, a name, a line of git's output) the server log repeats. */
export const MAX_LOGGED_CHARS = 200;

// C0 and C1 controls, DEL, format characters (bidi overrides, zero-width), line and paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Text that came from outside (a request, a child's output) made safe for one log line: control characters
 * become `?` (no forged lines, no terminal escapes) and the length is bounded.
 */
export function loggable(text: string, max = MAX_LOGGED_CHARS): string {
  if (text.length <= max) return text.replace(UNPRINTABLE, '?');
  // Never half of a surrogate pair.
  const head = text.slice(0, max).replace(/[\uD800-\uDBFF]$/, '');
  return `${head.replace(UNPRINTABLE, '?')}… (${text.length - head.length} more characters)`;
}
