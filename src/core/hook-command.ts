import { HOOKS_DIR, type HookName } from './app-hooks.js';
import type { Argv } from './remote-commands.js';

/** Printed (alone) instead of any output when the directory has no executable hook of that name. */
export const HOOK_ABSENT = 'bluegreen: no executable hook';

/** Exit codes of `timeout`: the hook ran out of time (TERM sufficed, or KILL was needed). */
export const TIMEOUT_CODES: readonly number[] = [124, 137];

export interface HookCommandInput {
  /** The directory the hook runs in (a release, or the staged one), holding `.bluegreen/hooks/NAME`. */
  dir: string;
  hook: HookName;
  timeoutSeconds: number;
  /** Kill whatever the hook left running once it exits (build and migrate; a restart may start the service). */
  sweep: boolean;
  /** `NAME=value` pairs exported to the hook. */
  env: readonly string[];
}

/**
 * Runs one hook on a host as the login user, in its own session (`setsid`), so that on timeout `timeout`
 * signals the hook's whole process group, and what is left of it is killed afterwards. Output (stdout and
 * stderr) goes to a file that `tail --pid` streams as it grows, so a hook's output arrives line by line while it
 * runs, and a child the hook leaves behind holding its output open cannot keep the command from ending (the
 * file, `.hook-NAME.PID`, sits in the directory above `dir`: releases/). The
 * exit code is the hook's (124 or 137: timed out). A directory without an executable hook prints HOOK_ABSENT.
 */
export function hookCommand(input: HookCommandInput): Argv {
  if (!Number.isInteger(input.timeoutSeconds) || input.timeoutSeconds < 1) throw new Error(`bad hook timeout ${input.timeoutSeconds}`);
  for (const pair of input.env) if (!/^[A-Z_][A-Z0-9_]*=/.test(pair)) throw new Error(`bad hook environment ${pair}`);
  return [
    'sh',
    '-c',
    [
      'dir=$1 hook=$2 limit=$3 sweep=$4',
      'shift 4',
      'cd "$dir" || exit 1',
      `h=./${HOOKS_DIR}/$hook`,
      `if [ -d "$h" ] || [ ! -x "$h" ]; then echo "${HOOK_ABSENT}"; exit 0; fi`,
      'for v in "$@"; do export "$v"; done',
      // The log lives beside the releases (the deploy user's directory, not /tmp), made by the shell (a process
      // less than mktemp), readable by the deploy user only, as mktemp's would be.
      'log="${dir%/*}/.hook-$hook.$$"',
      'u=$(umask); umask 077',
      'set -C; if ! true 2>/dev/null >"$log"; then rm -f -- "$log"; true >"$log" || exit 1; fi; set +C',
      'umask "$u"',
      'setsid timeout -k 5 "$limit" "$h" </dev/null >>"$log" 2>&1 &',
      'pid=$!',
      'tail -s 0.01 -n +1 -f --pid="$pid" "$log"',
      'code=0; wait "$pid" || code=$?',
      `if [ "$sweep" = 1 ] || ${TIMEOUT_CODES.map((c) => `[ "$code" = ${c} ]`).join(' || ')}; then kill -s KILL -- "-$pid" 2>/dev/null || true; fi`,
      'rm -f "$log"',
      'exit "$code"',
    ].join('\n'),
    'sh',
    input.dir,
    input.hook,
    String(input.timeoutSeconds),
    input.sweep ? '1' : '0',
    ...input.env,
  ];
}
