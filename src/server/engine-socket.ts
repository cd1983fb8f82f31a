/**
 * The deploy engine's end of the pre-receive hook: a unix socket in the data directory on which the hook
 * (a child of a git-receive-pack this server spawned) hands over a push, and receives progress lines and a
 * final verdict. A UserError from the handler reaches the pusher as `error: MESSAGE` and `hint: HINT` lines.
 *
 * Wire format: the hook POSTs one JSON EngineHookRequest to /receive. The answer is newline-delimited JSON,
 * one EngineMessage per line: any number of `{"say": "..."}` lines, then exactly one `{"done": ...}` line.
 * Output text only ever travels inside a JSON string, so it can never be mistaken for the verdict.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { isColour } from '../core/colour.js';
import { UserError } from '../core/errors.js';
import type { ReceiveHandler, ReceiveRequest } from './receive.js';

export interface EngineHookRequest {
  version: 1;
  /** The hook's parent: the git-receive-pack process running the push. */
  ppid: number;
  repoDir: string;
  updates: { oldrev: string; newrev: string; ref: string }[];
  pushOptions: string[];
  gitEnv: Record<string, string>;
}

export type EngineMessage = { say: string } | { done: 'accepted' | 'refused' };

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
  version: z.literal(1),
  ppid: z.number().int().positive(),
  repoDir: z.string().refine((dir) => path.isAbsolute(dir), 'expected an absolute path'),
  updates: z.array(z.object({ oldrev: sha, newrev: sha, ref: refName })).min(1).max(1000),
  pushOptions: z.array(z.string().max(4096).regex(/^[^\x00\n]*$/, 'expected one line')).max(100),
  gitEnv: z
    .object({
      GIT_OBJECT_DIRECTORY: z.string().optional(),
      GIT_ALTERNATE_OBJECT_DIRECTORIES: z.string().optional(),
      GIT_QUARANTINE_PATH: z.string().optional(),
    })
    .strict(),
});

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
  handler: ReceiveHandler,
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
  const server = http.createServer((req, res) => {
    void serve(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let open = true;
    // The hook went away (the pusher hung up, or git-receive-pack was killed): git will not update the ref.
    const hookGone = new AbortController();
    res.on('close', () => {
      open = false;
      if (!res.writableEnded) hookGone.abort(new UserError('the push was interrupted (the pusher disconnected)'));
    });
    res.on('error', () => {
      open = false;
    });
    const send = (message: EngineMessage) => {
      if (!open || res.destroyed || res.writableEnded) return;
      try {
        res.write(`${JSON.stringify(message)}\n`);
      } catch {
        open = false;
      }
    };
    const say = (line: string) => {
      for (const part of String(line).split(/\r?\n/)) send({ say: part });
    };
    const finish = (done: 'accepted' | 'refused') => {
      send({ done });
      if (open && !res.writableEnded) res.end();
    };

    if (req.method !== 'POST' || req.url !== '/receive') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      log(`engine: could not read a hook request: ${error instanceof Error ? error.message : String(error)}`);
      res.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let request: ReceiveRequest;
    try {
      request = validate(body);
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

  function validate(body: string): ReceiveRequest {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new UserError('the hook sent a request that is not JSON');
    }
    const parsed = requestSchema.safeParse(json);
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
    return {
      colour,
      updates: hook.updates,
      pushOptions: hook.pushOptions,
      pusher,
      gitEnv,
      repoDir: hook.repoDir,
    };
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

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new Error(`request larger than ${MAX_REQUEST_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
