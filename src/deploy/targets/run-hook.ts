import { StringDecoder } from 'node:string_decoder';
import type { Transport } from '../../adapters/transport/transport.js';
import { HOOKS_DIR, HOOK_TAIL_LINES, type HookContext, type HookName, hookEnvironment, hookFailure } from '../../core/app-hooks.js';
import { UserError } from '../../core/errors.js';
import { HOOK_ABSENT, TIMEOUT_CODES, hookCommand } from '../../core/hook-command.js';
import { remoteFailure } from '../../core/remote-failure.js';

export interface RunHookInput {
  transport: Transport;
  /** `blue (deploy@10.0.0.5:22)`, for errors. */
  where: string;
  appRoot: string;
  hook: HookName;
  /** Absolute path of the directory it runs in. */
  dir: string;
  context: HookContext;
  timeoutSeconds: number;
  /** Each line of the hook's output, as `NAME: line`, as it arrives. */
  say: (line: string) => void;
  /** Say nothing when the directory has no executable hook (a release switched back to, or activated). */
  quietIfAbsent?: boolean;
}

/**
 * Runs one hook on a host (see hookCommand), streaming its output line by line. Resolves when it succeeded or
 * the directory has no executable hook (said so); throws a UserError quoting its last lines when it failed or
 * ran out of time.
 */
export async function runHook(input: RunHookInput): Promise<void> {
  const { hook, say } = input;
  const last: string[] = [];
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let absent = false;
  let first = true;
  const emit = (line: string) => {
    if (first && line === HOOK_ABSENT) absent = true;
    first = false;
    if (absent) return;
    last.push(line);
    if (last.length > HOOK_TAIL_LINES) last.shift();
    say(`${hook}: ${line}`);
  };
  const started = Date.now();
  const argv = hookCommand({ dir: input.dir, hook, timeoutSeconds: input.timeoutSeconds, sweep: hook !== 'restart', env: hookEnvironment(input.context) });
  const result = await input.transport.exec(argv, {
    onStdout: (chunk) => {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) emit(line);
    },
  });
  partial += decoder.end();
  if (partial !== '') emit(partial);
  if (absent) {
    if (!input.quietIfAbsent) say(`${hook}: skipped: no executable ${HOOKS_DIR}/${hook} in ${input.dir}`);
    return;
  }
  // `sh` itself failing (no such directory) says so on stderr, before any hook ran.
  if (result.code !== 0 && last.length === 0 && result.stderr.trim() !== '') throw remoteFailure(`running the ${hook} hook`, input.where, input.appRoot, result);
  const timedOut = TIMEOUT_CODES.includes(result.code) && Date.now() - started >= input.timeoutSeconds * 1000;
  const failure = hookFailure(hook, { code: result.code, timedOut, timeoutSeconds: input.timeoutSeconds, lastLines: last });
  if (failure) {
    throw new UserError(`on ${input.where}: ${failure}`, {
      hint: timedOut
        ? `make ${HOOKS_DIR}/${hook} finish sooner, or raise BLUEGREEN_HOOK_TIMEOUT`
        : `fix ${HOOKS_DIR}/${hook} (it runs in the release directory, as the deploy user) and push again`,
    });
  }
}
