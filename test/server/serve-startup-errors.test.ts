/**
 * `bluegreen serve` refusing to start: every startup error ends it at once with exit 2, naming the variable and
 * the fix (the real program, started as users start it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { BIN, cleanEnv, requireBuild } from '../helpers/bluegreen.js';

requireBuild();

/**
 * Runs `bluegreen serve` expecting it to fail at startup (killed after `limitMs`); `ms` is how long it took to
 * exit after it printed its error (its start-up time on a busy machine says nothing).
 */
function serveFails(cwd: string, env: Record<string, string>, limitMs = 20_000): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let errorAt = Number.NaN;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (Number.isNaN(errorAt) && stderr.includes('error: ')) errorAt = Date.now();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - errorAt });
    });
  });
}

/** A port something else listens on, for as long as the test runs. */
async function busyPort(t: Test): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

t.test('startup errors end serve at once with exit 2, naming the variable and the fix', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'not.pem'), 'not a certificate\n');
  const busy = await busyPort(t);
  // The embedded default: its two hosts and the router start before the git server.
  const embedded = { BLUEGREEN_LISTEN: '127.0.0.1:0', BLUE_URL: 'http://127.0.0.1:0/', GREEN_URL: 'http://127.0.0.1:0/', BLUEGREEN_ROUTER_LISTEN: '127.0.0.1:0' };
  const cases: Array<[string, Record<string, string>, string, string]> = [
    [
      'a TLS file that is missing',
      { BLUEGREEN_TLS_CERT: 'missing.pem', BLUEGREEN_TLS_KEY: 'not.pem' },
      `  - BLUEGREEN_TLS_CERT: the TLS certificate ${path.join(dir, 'missing.pem')} does not exist: set BLUEGREEN_TLS_CERT to a readable PEM file`,
      'hint: fix the variables above in the environment or in .env (see `bluegreen init`)',
    ],
    [
      'a TLS file that is not PEM',
      { BLUEGREEN_TLS_CERT: 'not.pem', BLUEGREEN_TLS_KEY: 'not.pem' },
      `  - BLUEGREEN_TLS_CERT: the TLS certificate ${path.join(dir, 'not.pem')} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
      'hint: fix the variables above in the environment or in .env (see `bluegreen init`)',
    ],
    [
      'the git address in use',
      { BLUEGREEN_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_LISTEN to another host:port',
    ],
    [
      'the git address not on this machine',
      { BLUEGREEN_LISTEN: '192.0.2.1:7000' },
      'error: cannot listen on 192.0.2.1:7000 (BLUEGREEN_LISTEN): the address is not one of this machine',
      'hint: set BLUEGREEN_LISTEN to an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its addresses)',
    ],
    [
      'the git-over-SSH address in use',
      { BLUEGREEN_SSH_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_SSH_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_SSH_LISTEN to another host:port (or off)',
    ],
    [
      'the router address in use',
      { BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${busy}` },
      `error: cannot listen on 127.0.0.1:${busy} (BLUEGREEN_ROUTER_LISTEN): the address is in use`,
      'hint: stop whatever uses it, or set BLUEGREEN_ROUTER_LISTEN to another host:port',
    ],
    [
      "the green host's address in use",
      { GREEN_URL: `http://127.0.0.1:${busy}/` },
      `error: cannot listen on 127.0.0.1:${busy} (GREEN_URL): the address is in use`,
      "hint: stop whatever uses it, or set GREEN_URL to another http://127.0.0.1:PORT/ (the green host's address)",
    ],
    [
      'a data directory too deep for the engine socket',
      { BLUEGREEN_DATA_DIR: path.join(dir, 'd'.repeat(100)) },
      `error: cannot create the engine socket ${path.join(dir, 'd'.repeat(100), 'run', 'engine.sock')}: the path is longer than a unix socket allows (107 bytes)`,
      'hint: use a shorter BLUEGREEN_DATA_DIR',
    ],
  ];
  for (const [what, env, message, hint] of cases) {
    const result = await serveFails(dir, { ...embedded, ...env });
    t.equal(result.code, 2, `${what}: exit 2\n${result.stderr}`);
    t.ok(result.ms < 2000, `${what}: exits by itself at once (${result.ms} ms after the error)`);
    t.ok(result.stderr.split('\n').includes(message), `${what}: ${message}\n${result.stderr}`);
    t.ok(result.stderr.split('\n').some((line) => line.startsWith(hint)), `${what}: ${hint}`);
  }
  t.notOk(existsSync(path.join(dir, '.bluegreen', 'users.json')), 'no first user was made whose token nobody saw');
});

