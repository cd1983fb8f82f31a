/**
 * The deploy engine's end of the git hooks (hooks/git-hook.pl): a unix socket in the data directory
 * on which the hook (a child of a git-receive-pack this server spawned) hands over a push, and receives
 * progress lines and a final verdict. A UserError from the handler reaches the pusher as `error: MESSAGE`
 * and `hint: HINT` lines.
 *
 * Wire format, one line each (values hold no newline):
 *   request:  `bluegreen-hook 3`, `hook pre-receive|post-receive|reference-transaction STATE`, `ppid PID`,
 *             `repo DIR`, `env NAME VALUE`*, `option VALUE`*, `update OLDREV NEWREV REF`+, `end`
 *   answer:   `say TEXT`* then exactly one `done accepted` or `done refused`.
 * Output text only ever follows `say `, so it can never be mistaken for the verdict.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { isColour } from '../core/colour.js';
import { UserError } from '../core/errors.js';
import type { HookCall, PushHandler, PushRequest } from '../deploy/push-handler.js';

export const HOOK_PROTOCOL = 'bluegreen-hook 3';

export interface EngineSocketOptions {
  /** Server log (errors with details, refused hook requests). */
  log?: (line: string) => void;
  /** When given, the hook's repository must be `<reposDir>/blue.git` or `<reposDir>/green.git`. */
  reposDir?: string;
}

export interface EngineSocket {
  close(): Promise<void>;
}

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-digit hex object name');
// git check-ref-format rules, as far as a ref that reached a hook can break them.
const refName = z
  .string()
  .max(1024)
  .regex(/^refs\/[^\x00-\x20\x7f~^:?*[\\]+$/, 'expected a ref name under refs/')
  .refine((ref) => !/(^|\/)\.|\.\.|@\{|\/\/|\/$|\.lock(\/|$)|\.$/.test(ref), 'expected a valid ref name');
const requestSchema = z.object({
  hook: z.union([
    z.literal('pre-receive'),
    z.literal('post-receive'),
    z.literal('reference-transaction prepared'),
    z.literal('reference-transaction committed'),
    z.literal('reference-transaction aborted'),
  ]),
  ppid: z.coerce.number().int().positive(),
  repoDir: z.string().refine((dir) => path.isAbsolute(dir), 'expected an absolute path'),
  updates: z.array(z.object({ oldrev: sha, newrev: sha, ref: refName })).min(1).max(1000),
  pushOptions: z.array(z.string().max(4096)).max(100),
  gitEnv: z
    .object({
      GIT_OBJECT_DIRECTORY: z.string().optional(),
      GIT_ALTERNATE_OBJECT_DIRECTORIES: z.string().optional(),
      GIT_QUARANTINE_PATH: z.string().optional(),
    })
    .strict(),
});

/** The hook's lines (without `end`) as a request object, for the schema to judge. */
function parseHookLines(lines: readonly string[]): Record<string, unknown> {
  if (lines[0] !== HOOK_PROTOCOL) throw new UserError(`the hook does not speak this server's protocol (expected "${HOOK_PROTOCOL}")`);
  const request = { hook: '', ppid: '', repoDir: '', updates: [] as unknown[], pushOptions: [] as string[], gitEnv: {} as Record<string, string> };
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    const field = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (field === 'hook') request.hook = value;
    else if (field === 'ppid') request.ppid = value;
    else if (field === 'repo') request.repoDir = value;
    else if (field === 'option') request.pushOptions.push(value);
    else if (field === 'update') {
      const [oldrev = '', newrev = '', ref = ''] = value.split(' ');
      request.updates.push({ oldrev, newrev, ref });
    } else if (field === 'env') {
      const at = value.indexOf(' ');
      request.gitEnv[at < 0 ? value : value.slice(0, at)] = at < 0 ? '' : value.slice(at + 1);
    } else throw new UserError(`the hook sent a bad request (unknown field ${JSON.stringify(field)})`);
  }
  return request;
}

const MAX_REQUEST_BYTES = 1 << 20;

function realpathOr(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** Is something already answering on this unix socket? */
function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Listens on `socketPath` (mode 0600; a stale socket file is replaced) for pre-receive hooks. Each hook's
 * request is checked — its parent must be a git-receive-pack this server spawned, which `resolvePusher` maps
 * to the authenticated user — then handed to `handler`, whose `say` lines are streamed to the pusher at once.
 */
export async function startEngineSocket(
  socketPath: string,
  resolvePusher: (receivePackPid: number) => string | undefined,
  handler: PushHandler,
  options: EngineSocketOptions = {},
): Promise<EngineSocket> {
  const log = options.log ?? (() => {});
  const reposDir = options.reposDir === undefined ? undefined : realpathOr(options.reposDir);
  // sun_path holds 108 bytes with the terminating NUL; node silently truncates longer paths.
  if (Buffer.byteLength(socketPath) > 107) {
    throw new UserError(`cannot create the engine socket ${socketPath}: the path is longer than a unix socket allows (107 bytes)`, {
      exitCode: 2,
      hint: 'use a shorter BLUEGREEN_DATA_DIR',
    });
  }
  const dir = path.dirname(socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(socketPath)) {
    if (await socketAnswers(socketPath)) {
      throw new UserError(`another bluegreen server is already running with this data directory (${socketPath} answers)`, {
        hint: 'stop that server first, or give this one its own BLUEGREEN_DATA_DIR',
      });
    }
    fs.rmSync(socketPath, { force: true });
  }

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    void serve(socket);
  });

  async function serve(socket: net.Socket): Promise<void> {
    let lines: string[];
    try {
      lines = await readRequest(socket);
    } catch (error) {
      log(`engine: could not read a hook request: ${error instanceof Error ? error.message : String(error)}`);
      socket.destroy();
      return;
    }
    let answered = false;
    // The hook went away (the pusher hung up, or git-receive-pack was killed): git will not update the ref.
    // (Its end of the connection closing is the sign; node then ends ours too, so check our own flag.)
    const hookGone = new AbortController();
    const gone = () => {
      if (!answered && !hookGone.signal.aborted) hookGone.abort(new UserError('the push was interrupted (the pusher disconnected)'));
    };
    socket.once('end', gone);
    socket.once('close', gone);
    const send = (line: string) => {
      if (!socket.destroyed && !socket.writableEnded) socket.write(`${line}\n`);
    };
    const say = (text: string) => {
      for (const part of String(text).split(/\r?\n/)) send(`say ${part}`);
    };
    const finish = (done: 'accepted' | 'refused') => {
      answered = true;
      send(`done ${done}`);
      socket.end();
    };

    let request: PushRequest;
    try {
      request = validate(lines);
    } catch (error) {
      const message = error instanceof UserError ? error.message : String(error);
      log(`engine: refused a hook request: ${message}`);
      say(`bluegreen: ${message}; the push was not accepted`);
      finish('refused');
      return;
    }

    try {
      await handler(request, say, hookGone.signal);
      finish('accepted');
    } catch (error) {
      if (error instanceof UserError) {
        say(`error: ${error.message}`);
        if (error.hint) say(`hint: ${error.hint}`);
        log(`engine: ${request.colour} push by ${request.pusher} refused: ${error.message}`);
      } else {
        say('error: the deploy failed because of an internal error (details are in the server log); nothing was changed by this push');
        log(`engine: ${request.colour} push by ${request.pusher} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      finish('refused');
    }
  }

  function validate(lines: readonly string[]): PushRequest {
    const parsed = requestSchema.safeParse(parseHookLines(lines));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`the hook sent a bad request (${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'invalid'})`);
    }
    const hook = parsed.data;
    const name = path.basename(hook.repoDir);
    const colour = name.replace(/\.git$/, '');
    if (!name.endsWith('.git') || !isColour(colour) || (reposDir !== undefined && realpathOr(hook.repoDir) !== path.join(reposDir, name))) {
      throw new UserError(`${JSON.stringify(hook.repoDir)} is not one of this server's repositories (blue.git, green.git)`);
    }
    const pusher = resolvePusher(hook.ppid);
    if (pusher === undefined) {
      throw new UserError('this push did not come through the deploy server\'s git endpoint, so it cannot deploy (push to http[s]://NAME:TOKEN@server/' + name + ')');
    }
    const gitEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(hook.gitEnv)) if (value !== undefined) gitEnv[key] = value;
    const [hookName, state] = hook.hook.split(' ');
    const call: HookCall =
      hookName === 'pre-receive'
        ? { hook: 'pre-receive', updates: hook.updates, pushOptions: hook.pushOptions, gitEnv }
        : hookName === 'post-receive'
          ? { hook: 'post-receive', updates: hook.updates }
          : { hook: 'reference-transaction', state: state as 'prepared' | 'committed' | 'aborted', updates: hook.updates };
    return { colour, pusher, repoDir: hook.repoDir, receivePackPid: hook.ppid, call };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);
  server.on('error', (error) => log(`engine: socket error: ${error.message}`));

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          fs.rmSync(socketPath, { force: true });
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** The hook's request lines, up to (not including) `end`. */
function readRequest(socket: net.Socket): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    const onData = (chunk: string) => {
      text += chunk;
      const end = text.startsWith('end\n') ? 0 : text.indexOf('\nend\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve(end === 0 ? [] : text.slice(0, end).split('\n'));
      } else if (text.length > MAX_REQUEST_BYTES) {
        socket.off('data', onData);
        reject(new Error(`request larger than ${MAX_REQUEST_BYTES} bytes`));
      }
    };
    socket.on('data', onData);
    socket.once('end', () => reject(new Error('the hook hung up before the end of its request')));
  });
}
