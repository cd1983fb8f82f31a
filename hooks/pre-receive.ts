/**
 * The bare repositories' pre-receive hook (hooks/pre-receive execs `node dist/hooks/pre-receive.js`).
 *
 * It hands the push to the deploy engine in the server process over the engine's unix socket, copies the
 * engine's progress lines to stdout as they arrive (git shows them to the pusher as `remote: ...`), and exits
 * 0 only when the engine accepted the push. It prints nothing else and loads no configuration: everything it
 * needs is in git's environment, its stdin, and BLUEGREEN_ENGINE_SOCKET.
 */
import http from 'node:http';
import path from 'node:path';
import type { EngineHookRequest, EngineMessage } from '../src/server/engine-socket.js';

const GIT_ENV_NAMES = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'] as const;

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  // The pusher may hang up while a deploy runs; the engine carries on, so must we (quietly).
  process.stdout.on('error', () => {});
  const input = await readStdin();
  const updates = input
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [oldrev = '', newrev = '', ref = ''] = line.split(' ');
      return { oldrev, newrev, ref };
    });
  const pushOptions: string[] = [];
  const count = Number(process.env.GIT_PUSH_OPTION_COUNT ?? '0');
  for (let i = 0; i < count; i++) pushOptions.push(process.env[`GIT_PUSH_OPTION_${i}`] ?? '');
  const gitEnv: Record<string, string> = {};
  for (const name of GIT_ENV_NAMES) {
    const value = process.env[name];
    if (value) gitEnv[name] = path.resolve(value);
  }
  if (gitEnv.GIT_ALTERNATE_OBJECT_DIRECTORIES) {
    // A colon-separated list: keep it as git gave it, made absolute entry by entry.
    gitEnv.GIT_ALTERNATE_OBJECT_DIRECTORIES = (process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES ?? '')
      .split(':')
      .map((entry) => (entry ? path.resolve(entry) : entry))
      .join(':');
  }
  const repoDir = path.resolve(process.env.GIT_DIR ?? '.');
  // $DATA/repos/blue.git → $DATA/run/engine.sock, for when the variable did not reach us.
  const socketPath = process.env.BLUEGREEN_ENGINE_SOCKET || path.resolve(repoDir, '..', '..', 'run', 'engine.sock');
  const request: EngineHookRequest = { version: 1, ppid: process.ppid, repoDir, updates, pushOptions, gitEnv };
  const body = JSON.stringify(request);

  return await new Promise<number>((resolve) => {
    let received = false;
    let outcome: 'accepted' | 'refused' | undefined;
    const req = http.request(
      {
        socketPath,
        path: '/receive',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        received = true;
        let pending = '';
        const handle = (line: string) => {
          if (line === '') return;
          let message: EngineMessage;
          try {
            message = JSON.parse(line) as EngineMessage;
          } catch {
            return;
          }
          if ('say' in message && typeof message.say === 'string') say(message.say);
          else if ('done' in message) outcome = message.done === 'accepted' ? 'accepted' : 'refused';
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let at: number;
          while ((at = pending.indexOf('\n')) >= 0) {
            handle(pending.slice(0, at));
            pending = pending.slice(at + 1);
          }
        });
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          handle(pending);
          pending = '';
          if (outcome === undefined) say('bluegreen: lost the connection to the deploy server; the push was not accepted');
          resolve(outcome === 'accepted' ? 0 : 1);
        };
        res.on('end', finish);
        res.on('error', () => {});
        res.on('close', finish);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (received) return;
      say(
        `bluegreen: the deploy server is not running (${error.code ?? error.message} at ${socketPath}); the push was not accepted`,
      );
      resolve(1);
    });
    req.end(body);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    say(`bluegreen: the deploy hook failed (${error instanceof Error ? error.message : String(error)}); the push was not accepted`);
    process.exitCode = 1;
  },
);
