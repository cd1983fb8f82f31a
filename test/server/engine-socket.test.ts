/**
 * The engine socket with the real git hook (hooks/git-hook.pl), run here directly with the hook's name as git's
 * hook scripts run it (its parent is then this test process, which `resolvePusher` decides about), and with raw
 * requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { hookScriptPath, PERL } from '../../src/adapters/git/repos.js';
import { UserError } from '../../src/core/errors.js';
import { HOOK_PROTOCOL, startEngineSocket } from '../../src/server/engine-socket.js';
import type { PushHandler, PushRequest } from '../../src/deploy/push-handler.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);

interface Fixture {
  dataDir: string;
  socket: string;
  repo(colour: string): string;
}

function fixture(t: Test): Fixture {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-es-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  for (const colour of ['blue', 'green', 'other']) mkdirSync(path.join(dataDir, 'repos', `${colour}.git`), { recursive: true });
  return { dataDir, socket: path.join(dataDir, 'run', 'engine.sock'), repo: (colour) => path.join(dataDir, 'repos', `${colour}.git`) };
}

interface HookRun {
  child: ChildProcess;
  stdout(): string;
  /** Resolves once stdout matches. */
  waitFor(pattern: RegExp): Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Runs the hook as git would: in the repository, the hook's name (and state) as arguments, ref updates on stdin. */
function runHook(
  cwd: string,
  env: Record<string, string>,
  input: string | number = `${ZERO} ${A} refs/heads/main\n`,
  args: string[] = ['pre-receive'],
): HookRun {
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(GIT_|BLUEGREEN_)/.test(key)) base[key] = value;
  const stdin = typeof input === 'number' ? input : 'pipe';
  const child = spawn(PERL, [hookScriptPath(), ...args], { cwd, env: { ...base, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  if (typeof input === 'string') child.stdin?.end(input);
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    for (const waiter of waiters) if (waiter.pattern.test(stdout)) waiter.resolve();
  });
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    stdout: () => stdout,
    waitFor: (pattern) =>
      pattern.test(stdout) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
    done,
  };
}

/** The parent of a hook run from this test is this process. */
const me = (pid: number) => (pid === process.pid ? 'carol' : undefined);

/** Sends raw request text; resolves to everything the engine answered before it closed the connection. */
function send(socketPath: string, text: string, endWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('close', () => resolve(answer));
    // The engine drops an oversized request while it is still being written.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.write(text);
    if (endWrite) socket.end();
  });
}

t.test('the hook hands the push over and relays the lines; exit 0 when accepted', async (t) => {
  const f = fixture(t);
  const requests: PushRequest[] = [];
  const engine = await startEngineSocket(f.socket, me, async (request, say) => {
    requests.push(request);
    say('one');
    say('two\nthree');
    say('{"done":"accepted"}');
  }, { reposDir: path.join(f.dataDir, 'repos') });
  t.teardown(() => engine.close());
  t.equal(statSync(f.socket).mode & 0o777, 0o600, 'only this user may connect');
  t.equal(statSync(path.dirname(f.socket)).mode & 0o777, 0o700);

  const hook = runHook(f.repo('green'), {
    BLUEGREEN_ENGINE_SOCKET: f.socket,
    GIT_DIR: '.',
    GIT_PUSH_OPTION_COUNT: '2',
    GIT_PUSH_OPTION_0: 'force-live',
    GIT_PUSH_OPTION_1: 'x=y z',
    GIT_OBJECT_DIRECTORY: './objects/incoming-1',
    GIT_QUARANTINE_PATH: 'objects/incoming-1',
    GIT_ALTERNATE_OBJECT_DIRECTORIES: './objects:/abs/objects',
  }, `${ZERO} ${A} refs/heads/main\n${A} ${B} refs/tags/v1\n`);
  const result = await hook.done;
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'one\ntwo\nthree\n{"done":"accepted"}\n', 'only the lines, and a line is never taken for the verdict');
  t.equal(result.stderr, '', 'nothing else is printed');
  const repo = f.repo('green');
  t.same(requests, [
    {
      colour: 'green',
      pusher: 'carol',
      repoDir: repo,
      receivePackPid: process.pid,
      call: {
        hook: 'pre-receive',
        updates: [
          { oldrev: ZERO, newrev: A, ref: 'refs/heads/main' },
          { oldrev: A, newrev: B, ref: 'refs/tags/v1' },
        ],
        pushOptions: ['force-live', 'x=y z'],
        gitEnv: {
          GIT_OBJECT_DIRECTORY: path.join(repo, 'objects/incoming-1'),
          GIT_ALTERNATE_OBJECT_DIRECTORIES: `${path.join(repo, 'objects')}:/abs/objects`,
          GIT_QUARANTINE_PATH: path.join(repo, 'objects/incoming-1'),
        },
      },
    },
  ]);
});

t.test('reference-transaction and post-receive calls reach the handler with their state and updates', async (t) => {
  const f = fixture(t);
  const requests: PushRequest[] = [];
  const engine = await startEngineSocket(f.socket, me, async (request, say) => {
    requests.push(request);
    say(`seen ${request.call.hook}`);
  });
  t.teardown(() => engine.close());
  const env = { BLUEGREEN_ENGINE_SOCKET: f.socket, GIT_PUSH_OPTION_COUNT: '1', GIT_PUSH_OPTION_0: 'force-live' };
  const input = `${ZERO} ${B} refs/tags/v1\n${A} ${B} refs/heads/main\n`;
  const main = { oldrev: A, newrev: B, ref: 'refs/heads/main' };
  for (const state of ['prepared', 'committed', 'aborted'] as const) {
    const result = await runHook(f.repo('blue'), env, input, ['reference-transaction', state]).done;
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout, 'seen reference-transaction\n');
    t.same(requests.at(-1)?.call, { hook: 'reference-transaction', state, updates: [main] }, `${state}: only the update of main`);
  }
  const post = await runHook(f.repo('blue'), env, input, ['post-receive']).done;
  t.equal(post.code, 0, post.stderr);
  t.equal(post.stdout, 'seen post-receive\n');
  t.same(requests.at(-1)?.call, { hook: 'post-receive', updates: [{ oldrev: ZERO, newrev: B, ref: 'refs/tags/v1' }, main] }, 'post-receive: every update git made');
  t.same(requests.map((r) => [r.colour, r.pusher, r.receivePackPid]), Array(4).fill(['blue', 'carol', process.pid]));

  const unnamed = await runHook(f.repo('blue'), env, input, []).done;
  t.equal(unnamed.code, 0, unnamed.stderr);
  t.equal(requests.at(-1)?.call.hook, 'pre-receive', 'with no name the hook is pre-receive');

  const before = requests.length;
  for (const args of [['update'], ['reference-transaction', 'later']]) {
    const broken = await runHook(f.repo('blue'), env, input, args).done;
    t.equal(broken.code, 1, `${args.join(' ')}: a broken install fails`);
    t.match(broken.stdout, /^bluegreen: the deploy hook was installed wrong \(unknown (hook update|reference-transaction state later)\); restart bluegreen serve to rewrite it\n$/);
  }
  t.equal(requests.length, before, 'a broken install never reaches the engine');
});

t.test('a reference-transaction that does not change main never contacts the engine', async (t) => {
  const f = fixture(t);
  const tagOnly = `${ZERO} ${A} refs/tags/v1\n${ZERO} ${A} refs/heads/main-2\n${ZERO} ${A} refs/heads/x/refs/heads/main\n`;
  // No server at all: a call that tried to connect would refuse.
  for (const input of [tagOnly, '']) {
    const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }, input, ['reference-transaction', 'prepared']).done;
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout, '', `nothing said for ${JSON.stringify(input)}`);
  }
  let called = false;
  const engine = await startEngineSocket(f.socket, me, async () => {
    called = true;
  });
  t.teardown(() => engine.close());
  t.equal((await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }, tagOnly, ['reference-transaction', 'prepared']).done).code, 0);
  t.notOk(called, 'the handler never saw it');
  t.equal((await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }, `${A} ${B} refs/heads/main\n`, ['reference-transaction', 'prepared']).done).code, 0);
  t.ok(called, 'the control call, with main, does reach it');
});

t.test('only pre-receive and reference-transaction prepared can refuse; the others never fail', async (t) => {
  const f = fixture(t);
  const env = { BLUEGREEN_ENGINE_SOCKET: f.socket };
  const input = `${A} ${B} refs/heads/main\n`;
  const notRunning = `bluegreen: the deploy server is not running (ENOENT at ${f.socket}); the push was not accepted\n`;
  // No server.
  for (const args of [['reference-transaction', 'committed'], ['reference-transaction', 'aborted'], ['post-receive']]) {
    const result = await runHook(f.repo('blue'), env, input, args).done;
    t.equal(result.code, 0, `${args.join(' ')} with no server`);
    t.equal(result.stdout, '', 'and says nothing');
  }
  for (const args of [['pre-receive'], ['reference-transaction', 'prepared']]) {
    const result = await runHook(f.repo('blue'), env, input, args).done;
    t.equal(result.code, 1, `${args.join(' ')} with no server`);
    t.equal(result.stdout, notRunning);
  }
  // A server that refuses everything.
  const engine = await startEngineSocket(f.socket, me, async () => {
    throw new UserError('no', { hint: 'never' });
  });
  t.teardown(() => engine.close());
  for (const args of [['reference-transaction', 'committed'], ['reference-transaction', 'aborted'], ['post-receive']]) {
    const result = await runHook(f.repo('blue'), env, input, args).done;
    t.equal(result.code, 0, `${args.join(' ')} refused by the engine`);
    t.equal(result.stdout, 'error: no\nhint: never\n', 'its lines are still shown');
  }
  for (const args of [['pre-receive'], ['reference-transaction', 'prepared']]) {
    const result = await runHook(f.repo('blue'), env, input, args).done;
    t.equal(result.code, 1, `${args.join(' ')} refused by the engine`);
    t.equal(result.stdout, 'error: no\nhint: never\n');
  }
});

t.test('without BLUEGREEN_ENGINE_SOCKET the hook finds the socket from its repository', async (t) => {
  const f = fixture(t);
  const engine = await startEngineSocket(f.socket, me, async (_request, say) => say('found'));
  t.teardown(() => engine.close());
  const result = await runHook(f.repo('blue'), {}).done;
  t.equal(result.code, 0);
  t.equal(result.stdout, 'found\n');
});

t.test('the deploy server is not running: one clear line, exit 1', async (t) => {
  const f = fixture(t);
  const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done;
  t.equal(result.code, 1);
  t.equal(result.stdout, `bluegreen: the deploy server is not running (ENOENT at ${f.socket}); the push was not accepted\n`);
  t.equal(result.stderr, '');
  // A stale socket file (its server was killed): refused rather than missing.
  const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(f.socket)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  mkdirSync(path.dirname(f.socket), { recursive: true });
  await new Promise((resolve) => stale.stdout.once('data', resolve));
  stale.kill('SIGKILL');
  await new Promise((resolve) => stale.on('close', resolve));
  t.ok(existsSync(f.socket), 'the killed server left its socket file');
  const refused = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done;
  t.equal(refused.stdout, `bluegreen: the deploy server is not running (ECONNREFUSED at ${f.socket}); the push was not accepted\n`);

  // ...and the engine replaces that stale file when it starts.
  const engine = await startEngineSocket(f.socket, me, async () => {});
  t.teardown(() => engine.close());
  t.equal((await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done).code, 0);
});

t.test('a refusal: UserError message and hint are the last lines; exit 1', async (t) => {
  const f = fixture(t);
  const engine = await startEngineSocket(f.socket, me, async (_request, say) => {
    say('working');
    throw new UserError('green is live', { hint: 'push with -o force-live' });
  });
  t.teardown(() => engine.close());
  const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done;
  t.equal(result.code, 1);
  t.equal(result.stdout, 'working\nerror: green is live\nhint: push with -o force-live\n');
});

t.test('a hook whose parent is not a receive-pack of this server is refused', async (t) => {
  const f = fixture(t);
  let called = false;
  const logs: string[] = [];
  const engine = await startEngineSocket(f.socket, () => undefined, async () => {
    called = true;
  }, { log: (l) => logs.push(l) });
  t.teardown(() => engine.close());
  const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done;
  t.equal(result.code, 1);
  t.equal(
    result.stdout,
    "bluegreen: this push did not come through the deploy server's git endpoint, so it cannot deploy (push to http[s]://NAME:TOKEN@server/blue.git); the push was not accepted\n",
  );
  t.notOk(called);
  t.match(logs, [/^engine: refused a hook request: this push did not come through/]);
});

t.test('requests the engine refuses: not ours, malformed, wrong repository', async (t) => {
  const f = fixture(t);
  let called = false;
  const engine = await startEngineSocket(f.socket, () => 'alice', async () => {
    called = true;
  }, { reposDir: path.join(f.dataDir, 'repos') });
  t.teardown(() => engine.close());
  const refusal = (message: string) => `say bluegreen: ${message}; the push was not accepted\ndone refused\n`;
  const update = `update ${ZERO} ${A} refs/heads/main`;
  const request = (...lines: string[]) => `${lines.join('\n')}\nend\n`;
  const head = [HOOK_PROTOCOL, 'hook pre-receive', 'ppid 42'];
  const good = [...head, `repo ${f.repo('blue')}`, update];
  const withHook = (hook: string) => [HOOK_PROTOCOL, hook, ...good.slice(2)];
  const cases: Array<[string[], string]> = [
    [['bluegreen-hook 2', ...good.slice(1)], `the hook does not speak this server's protocol (expected "${HOOK_PROTOCOL}")`],
    [[...good, 'shell rm -rf /'], 'the hook sent a bad request (unknown field "shell")'],
    [[...good.slice(0, 4), `update abc ${A} refs/heads/main`], 'the hook sent a bad request (updates.0.oldrev: expected a 40-digit hex object name)'],
    [[...good.slice(0, 4), `update ${ZERO} ${A} refs/heads/../x`], 'the hook sent a bad request (updates.0.ref: expected a valid ref name)'],
    [[...good.slice(0, 4), `update ${ZERO} ${A} HEAD`], 'the hook sent a bad request (updates.0.ref: expected a ref name under refs/)'],
    [good.slice(0, 4), 'the hook sent a bad request (updates: Too small: expected array to have >=1 items)'],
    [[...good, 'env LD_PRELOAD /x.so'], 'the hook sent a bad request (gitEnv: Unrecognized key: "LD_PRELOAD")'],
    [[HOOK_PROTOCOL, 'hook pre-receive', 'ppid me', ...good.slice(3)], 'the hook sent a bad request (ppid: Invalid input: expected number, received NaN)'],
    [[...head, 'repo repos/blue.git', update], 'the hook sent a bad request (repoDir: expected an absolute path)'],
    [[...head, `repo ${f.repo('other')}`, update], `${JSON.stringify(f.repo('other'))} is not one of this server's repositories (blue.git, green.git)`],
    [[...head, 'repo /elsewhere/repos/blue.git', update], `"/elsewhere/repos/blue.git" is not one of this server's repositories (blue.git, green.git)`],
    [[HOOK_PROTOCOL, ...good.slice(2)], 'the hook sent a bad request (hook: Invalid input)'],
    [withHook('hook update'), 'the hook sent a bad request (hook: Invalid input)'],
    [withHook('hook reference-transaction'), 'the hook sent a bad request (hook: Invalid input)'],
    [withHook('hook reference-transaction started'), 'the hook sent a bad request (hook: Invalid input)'],
    [withHook('hook pre-receive prepared'), 'the hook sent a bad request (hook: Invalid input)'],
  ];
  for (const [lines, message] of cases) {
    t.equal(await send(f.socket, request(...lines)), refusal(message), message);
  }
  t.notOk(called, 'the handler never saw any of them');
  t.equal(await send(f.socket, request(...good)), 'done accepted\n', 'the control request is accepted');
  t.ok(called);
});

t.test('an unexpected handler failure: a generic line, details in the log', async (t) => {
  const f = fixture(t);
  const logs: string[] = [];
  const engine = await startEngineSocket(f.socket, me, async () => {
    throw new TypeError('secret detail');
  }, { log: (l) => logs.push(l) });
  t.teardown(() => engine.close());
  const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done;
  t.equal(result.code, 1);
  t.equal(result.stdout, 'error: the deploy failed because of an internal error (details are in the server log); nothing was changed by this push\n');
  t.match(logs.join('\n'), /engine: blue push by carol failed: TypeError: secret detail/);
});

t.test('the hook going away mid-deploy does not disturb the handler', async (t) => {
  const f = fixture(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let finished: Promise<void> | undefined;
  let signal: AbortSignal | undefined;
  const handler: PushHandler = (_request, say, interrupted) => {
    signal = interrupted;
    finished = (async () => {
      say('started');
      await gate;
      for (let i = 0; i < 100; i++) say(`line ${i}`);
    })();
    return finished;
  };
  const engine = await startEngineSocket(f.socket, me, handler);
  t.teardown(() => engine.close());
  const hook = runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket });
  await hook.waitFor(/started\n/);
  hook.child.kill('SIGKILL');
  await hook.done;
  while (!signal?.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
  t.match(signal.reason, { name: 'UserError', message: 'the push was interrupted (the pusher disconnected)' }, 'the handler is told');
  release();
  await t.resolves(finished!, 'say() after the hook left does not throw');
});

t.test('the engine going away mid-deploy: the push is not accepted', async (t) => {
  const f = fixture(t);
  const engine = await startEngineSocket(f.socket, me, async (_request, say) => {
    say('started');
    await new Promise(() => {});
  });
  const hook = runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket });
  await hook.waitFor(/started\n/);
  await engine.close();
  const result = await hook.done;
  t.equal(result.code, 1);
  t.equal(result.stdout, 'started\nbluegreen: lost the connection to the deploy server; the push was not accepted\n');
  t.notOk(existsSync(f.socket), 'close() removes the socket file');
});

t.test('a hook that cannot read its input says so', async (t) => {
  const f = fixture(t);
  // A write-only descriptor as stdin: every read fails.
  const fd = openSync(path.join(f.dataDir, 'write-only'), 'w');
  t.teardown(() => closeSync(fd));
  const result = await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }, fd).done;
  t.equal(result.code, 1);
  t.equal(result.stdout, 'bluegreen: the deploy hook failed (cannot read the ref updates: EBADF); the push was not accepted\n');
});

t.test('a push option with a newline never reaches the engine', async (t) => {
  const f = fixture(t);
  let called = false;
  const engine = await startEngineSocket(f.socket, me, async () => {
    called = true;
  });
  t.teardown(() => engine.close());
  const env = { BLUEGREEN_ENGINE_SOCKET: f.socket, GIT_PUSH_OPTION_COUNT: '1', GIT_PUSH_OPTION_0: 'a\nupdate x' };
  const result = await runHook(f.repo('blue'), env).done;
  t.equal(result.code, 1);
  t.equal(result.stdout, 'bluegreen: the deploy hook cannot pass a value with a newline in it; the push was not accepted\n');
  t.notOk(called);
});

t.test('a request cut short or too long is logged and dropped without an answer', async (t) => {
  const f = fixture(t);
  const logs: string[] = [];
  const engine = await startEngineSocket(f.socket, me, async () => {}, { log: (l) => logs.push(l) });
  t.teardown(() => engine.close());
  t.equal(await send(f.socket, `${HOOK_PROTOCOL}\nppid 1\n`, true), '', 'no verdict for half a request');
  t.equal(await send(f.socket, `${HOOK_PROTOCOL}\noption ${'x'.repeat(2 << 20)}\n`), '');
  t.same(logs, [
    'engine: could not read a hook request: the hook hung up before the end of its request',
    'engine: could not read a hook request: request larger than 1048576 bytes',
  ]);
});

t.test('engine socket start-up refusals', async (t) => {
  const f = fixture(t);
  const engine = await startEngineSocket(f.socket, me, async () => {});
  t.teardown(() => engine.close());
  await t.rejects(startEngineSocket(f.socket, me, async () => {}), {
    name: 'UserError',
    message: `another bluegreen server is already running with this data directory (${f.socket} answers)`,
    hint: 'stop that server first, or give this one its own BLUEGREEN_DATA_DIR',
  });
  t.equal((await runHook(f.repo('blue'), { BLUEGREEN_ENGINE_SOCKET: f.socket }).done).code, 0, 'the running one still answers');

  const long = path.join(f.dataDir, 'x'.repeat(100), 'run', 'engine.sock');
  await t.rejects(startEngineSocket(long, me, async () => {}), {
    name: 'UserError',
    exitCode: 2,
    message: `cannot create the engine socket ${long}: the path is longer than a unix socket allows (107 bytes)`,
    hint: 'use a shorter BLUEGREEN_DATA_DIR',
  });
});
