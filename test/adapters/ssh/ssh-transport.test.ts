import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { UserError } from '../../../src/core/errors.js';
import { fingerprint, knownHostsLine } from '../../../src/adapters/ssh/known-hosts.js';
import {
  readPrivateKey,
  SshTransport,
  type SshTransportOptions,
} from '../../../src/adapters/ssh/ssh-transport.js';
import { ensureTestUser, startSshd, type SshdHandle } from '../../helpers/sshd.js';

function options(sshd: SshdHandle, overrides: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: readFileSync(sshd.clientKeyPath),
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: sshd.knownHostsPath,
    ...overrides,
  };
}

function transport(t: Test, sshd: SshdHandle, overrides: Partial<SshTransportOptions> = {}): SshTransport {
  const tr = new SshTransport(options(sshd, overrides));
  t.teardown(() => tr.close());
  return tr;
}

function hostKeyBlob(sshd: SshdHandle): Buffer {
  return Buffer.from(sshd.hostPublicKey.split(' ')[1]!, 'base64');
}

function keygen(dir: string, name: string, type = 'ed25519'): string {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
  return path;
}

/** Number of logins sshd has logged (needs logLevel INFO); waits until at least `atLeast` have been logged. */
async function logins(sshd: SshdHandle, atLeast: number): Promise<number> {
  const count = () => sshd.log().match(/Accepted publickey for /g)?.length ?? 0;
  for (let i = 0; i < 500 && count() < atLeast; i++) await new Promise((r) => setTimeout(r, 10));
  return count();
}

const CONNECTION = ['sh', '-c', 'echo "$SSH_CONNECTION"'];

/** A TCP server on 127.0.0.4 that does `onSocket` with each connection. */
async function tcpServer(t: Test, onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.4', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

t.test('against one sshd', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2' }, t);

  t.test('label is user@host:port', async (t) => {
    const tr = transport(t, sshd);
    t.equal(tr.label, `${sshd.user}@127.0.0.2:${sshd.port}`);
  });

  t.test('argv with awkward names arrives intact', async (t) => {
    const tr = transport(t, sshd);
    const awkward = ['with space', "it's", '"dq"', '$HOME', '`id`', '-rf', '--', 'new\nline', '', 'ünï 日本 🙂', '*', 'A=b'];
    const result = await tr.exec(['printf', '%s\\0', ...awkward]);
    t.equal(result.code, 0);
    t.same(result.stdout.split('\0').slice(0, -1), awkward);
    t.equal(result.bytesSent, 0);
  });

  t.test('every fast command reports its exit status, also many at once', async (t) => {
    // A quick command's exit status can arrive in the same read as the channel's confirmation; it was
    // once lost that way under load.
    const tr = transport(t, sshd);
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => tr.exec(['sh', '-c', `exit ${i % 7}`])));
    t.same(results.map((r) => r.code), Array.from({ length: 64 }, (_, i) => i % 7));
  });

  t.test('exit code, stdout and stderr are reported', async (t) => {
    const tr = transport(t, sshd);
    const result = await tr.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.same(result, { code: 3, stdout: 'out\n', stderr: 'err\n', bytesSent: 0 });
  });

  t.test('stdin of a few MB arrives intact, and bytesSent counts it', async (t) => {
    const tr = transport(t, sshd);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const sha = createHash('sha256').update(data).digest('hex');
    const fromBuffer = await tr.exec(['sha256sum'], { stdin: data });
    t.equal(fromBuffer.stdout.split(' ')[0], sha);
    t.equal(fromBuffer.bytesSent, data.length);

    const chunks = Array.from({ length: 48 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    chunks.push(data.subarray(48 * 65536));
    const fromStream = await tr.exec(['sha256sum'], { stdin: Readable.from(chunks) });
    t.equal(fromStream.stdout.split(' ')[0], sha);
    t.equal(fromStream.bytesSent, data.length);

    const fromString = await tr.exec(['cat'], { stdin: 'héllo\n' });
    t.equal(fromString.stdout, 'héllo\n');
    t.equal(fromString.bytesSent, Buffer.byteLength('héllo\n'));
  });

  t.test('without stdin the command sees end of input at once', async (t) => {
    const tr = transport(t, sshd);
    const result = await tr.exec(['wc', '-c']);
    t.equal(result.stdout.trim(), '0');
  });

  t.test('a command that stops reading stdin early does not hang the exec', async (t) => {
    const tr = transport(t, sshd);
    const result = await tr.exec(['head', '-c', '10'], { stdin: randomBytes(4 * 1024 * 1024) });
    t.equal(result.code, 0);
    t.equal(result.stdout.length > 0, true);
  });

  t.test('onStdout sees every chunk as it arrives', async (t) => {
    const tr = transport(t, sshd);
    const seen: Buffer[] = [];
    const result = await tr.exec(['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" a'], {
      onStdout: (chunk) => seen.push(chunk),
    });
    t.equal(Buffer.concat(seen).toString(), result.stdout);
    t.equal(result.stdout.length, 1_000_000);
  });

  t.test('an error thrown by onStdout fails the exec', async (t) => {
    const tr = transport(t, sshd);
    await t.rejects(
      tr.exec(['sh', '-c', 'echo hi; sleep 30'], {
        onStdout: () => {
          throw new Error('consumer broke');
        },
      }),
      { message: 'consumer broke' },
    );
  });

  t.test('an error from the stdin stream fails the exec', async (t) => {
    const tr = transport(t, sshd);
    const input = new PassThrough();
    const running = tr.exec(['cat'], { stdin: input });
    input.write('some');
    setImmediate(() => input.destroy(new Error('archive failed')));
    await t.rejects(running, { message: 'archive failed' });
  });

  t.test('a command killed by a signal gives code 255 and says so', async (t) => {
    const tr = transport(t, sshd);
    const result = await tr.exec(['sh', '-c', 'echo partial >&2; kill -TERM $$']);
    t.equal(result.code, 255);
    t.equal(
      result.stderr,
      'partial\nbluegreen: the remote command ended without an exit status (killed by SIGTERM)\n',
    );
  });

  t.test('an empty argv is a programming error', async (t) => {
    const tr = transport(t, sshd);
    await t.rejects(tr.exec([]), { message: 'SshTransport.exec: empty argv' });
  });

  t.test('close() ends the connection; a later exec opens a new one; close() twice is fine', async (t) => {
    const tr = transport(t, sshd);
    const first = (await tr.exec(CONNECTION)).stdout;
    await tr.close();
    await tr.close();
    const second = (await tr.exec(CONNECTION)).stdout;
    t.not(second, first);
  });

  t.test('unknown host key: refused, with the fingerprint; trusting it takes effect on the next connect', async (t) => {
    const knownHostsPath = join(sshd.dir, 'unknown_known_hosts');
    const offered = fingerprint(hostKeyBlob(sshd));
    const tr = transport(t, sshd, { knownHostsPath });
    const error = await tr.exec(['true']).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, UserError);
    t.equal((error as UserError).message, `host key of 127.0.0.2:${sshd.port} is not known: it offered ${offered}`);
    t.equal(
      (error as UserError).hint,
      `check the fingerprint, then add it: ssh-keyscan -p ${sshd.port} 127.0.0.2 >> ${knownHostsPath} ` +
        `(or \`bluegreen provision blue|green --host-key ${offered}\`)`,
    );
    // The hint's command really works.
    const scanned = execFileSync('ssh-keyscan', ['-p', String(sshd.port), '127.0.0.2'], { stdio: ['ignore', 'pipe', 'ignore'] });
    writeFileSync(knownHostsPath, scanned);
    t.equal((await tr.exec(['echo', 'ok'])).stdout, 'ok\n');
  });

  t.test('changed host key: refused, naming the fingerprint and the known_hosts file', async (t) => {
    const other = keygen(sshd.dir, 'other_host_key');
    const otherBlob = Buffer.from(readFileSync(`${other}.pub`, 'utf8').split(' ')[1]!, 'base64');
    const knownHostsPath = join(sshd.dir, 'changed_known_hosts');
    writeFileSync(knownHostsPath, `${knownHostsLine(sshd.host, sshd.port, otherBlob)}\n`);
    const tr = transport(t, sshd, { knownHostsPath });
    const offered = fingerprint(hostKeyBlob(sshd));
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message:
        `host key of 127.0.0.2:${sshd.port} has CHANGED: it offered ${offered}, which does not match ${knownHostsPath}; ` +
        'someone may be intercepting the connection (man-in-the-middle), or the host was rebuilt',
      hint:
        `if the host was rebuilt, check the new fingerprint out of band, remove the old entry ` +
        `(ssh-keygen -R '[127.0.0.2]:${sshd.port}' -f ${knownHostsPath}), then add the new one: ` +
        `ssh-keyscan -p ${sshd.port} 127.0.0.2 >> ${knownHostsPath}`,
    });
  });

  t.test('revoked host key: refused even though it is also listed as trusted', async (t) => {
    const knownHostsPath = join(sshd.dir, 'revoked_known_hosts');
    writeFileSync(knownHostsPath, `@revoked * ${sshd.hostPublicKey}\n${readFileSync(sshd.knownHostsPath, 'utf8')}`);
    const tr = transport(t, sshd, { knownHostsPath });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `host key of 127.0.0.2:${sshd.port} is REVOKED: it offered ${fingerprint(hostKeyBlob(sshd))}, which ${knownHostsPath} marks @revoked`,
    });
  });

  t.test('hashed known_hosts entries (ssh-keygen -H) are accepted', async (t) => {
    const knownHostsPath = join(sshd.dir, 'hashed_known_hosts');
    writeFileSync(knownHostsPath, readFileSync(sshd.knownHostsPath));
    execFileSync('ssh-keygen', ['-H', '-f', knownHostsPath], { stdio: 'ignore' });
    t.notMatch(readFileSync(knownHostsPath, 'utf8'), /127\.0\.0\.2/);
    const tr = transport(t, sshd, { knownHostsPath });
    t.equal((await tr.exec(['echo', 'ok'])).stdout, 'ok\n');
  });

  t.test('an unreadable known_hosts file is a clear error', async (t) => {
    const knownHostsPath = join(sshd.dir, 'a_directory');
    mkdirSync(knownHostsPath);
    const tr = transport(t, sshd, { knownHostsPath });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `cannot read the known_hosts file ${knownHostsPath}: EISDIR: illegal operation on a directory, read`,
      hint: 'set BLUEGREEN_KNOWN_HOSTS to a readable OpenSSH known_hosts file',
    });
  });

  t.test('a client key the server does not know: login refused', async (t) => {
    const stranger = keygen(sshd.dir, 'stranger_key');
    const tr = transport(t, sshd, { privateKey: readFileSync(stranger), privateKeyPath: stranger });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `SSH login as ${sshd.user}@127.0.0.2:${sshd.port} was refused: the server accepted none of our keys (All configured authentication methods failed)`,
      hint: `is the deploy key (${stranger}.pub) authorized for ${sshd.user} on 127.0.0.2? \`bluegreen provision\` installs it`,
    });
  });

  t.test('a key that is not a private key cannot be used', async (t) => {
    const tr = transport(t, sshd, { privateKey: readFileSync(`${sshd.clientKeyPath}.pub`), privateKeyPath: `${sshd.clientKeyPath}.pub` });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: new RegExp(`^the SSH key ${sshd.clientKeyPath}\\.pub cannot be used: `),
      hint: 'it must be an unencrypted private key (OpenSSH or PEM format); `bluegreen init` writes one',
    });
  });

  t.test('a missing key file is a clear error', async (t) => {
    const path = join(sshd.dir, 'no_such_key');
    t.throws(() => readPrivateKey(path), {
      name: 'UserError',
      message: `cannot read the SSH key ${path}: ENOENT: no such file or directory, open '${path}'`,
      hint: 'set BLUEGREEN_SSH_KEY to a readable private key, or create one with `bluegreen init`',
    });
    t.same(readPrivateKey(sshd.clientKeyPath), readFileSync(sshd.clientKeyPath));
  });

  t.test('a host that limits sessions: the extra channel fails clearly, the others carry on', async (t) => {
    const limited = await startSshd({ address: '127.0.0.2', extraConfig: ['MaxSessions 1'] }, t);
    const tr = transport(t, limited);
    const input = new PassThrough();
    const first = tr.exec(['cat'], { stdin: input });
    input.write('held open\n');
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `could not start \`true\` on ${tr.label}: (SSH) Channel open failure: open failed`,
      hint: 'the host may limit concurrent SSH sessions (sshd_config MaxSessions)',
    });
    input.end();
    t.equal((await first).stdout, 'held open\n');
  });
});

t.test('one warm connection: reused, and replaced after sshd restarts', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2', logLevel: 'INFO' }, t);
  const tr = transport(t, sshd);
  const first = (await tr.exec(CONNECTION)).stdout;
  const second = (await tr.exec(CONNECTION)).stdout;
  const concurrent = await Promise.all(Array.from({ length: 12 }, () => tr.exec(CONNECTION)));
  t.equal(second, first, 'same client address and port: same TCP connection');
  t.same(
    concurrent.map((r) => r.stdout),
    concurrent.map(() => first),
  );
  t.equal(await logins(sshd, 1), 1, 'sshd saw one login');

  await sshd.restart();
  const afterRestart = (await tr.exec(CONNECTION)).stdout;
  t.not(afterRestart, first, 'a new connection');
  t.equal((await tr.exec(CONNECTION)).stdout, afterRestart, 'which is reused in turn');
  t.equal(await logins(sshd, 2), 2);
});

t.test('a command running when the connection drops fails clearly; the next exec reconnects', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2' }, t);
  const tr = transport(t, sshd);
  let restarting: Promise<void> | undefined;
  const running = tr.exec(['sh', '-c', 'echo started; sleep 30'], {
    onStdout: () => {
      restarting ??= sshd.restart();
    },
  });
  await t.rejects(running, {
    name: 'UserError',
    message: `lost the SSH connection to ${tr.label} while running \`sh -c 'echo started; sleep 30'\``,
    hint: 'the command may or may not have finished on the host; check the host, then run it again',
  });
  await restarting;
  t.equal((await tr.exec(['echo', 'back'])).stdout, 'back\n');
});

t.test('a host with several host keys is checked against the type known_hosts has', async (t) => {
  const dir = (await startSshd({ address: '127.0.0.3' }, t)).dir; // just a temp dir that is cleaned up
  const ecdsaKey = keygen(dir, 'ssh_host_ecdsa_key', 'ecdsa');
  const sshd = await startSshd({ address: '127.0.0.2', extraConfig: [`HostKey ${ecdsaKey}`] }, t);
  const ecdsaBlob = Buffer.from(readFileSync(`${ecdsaKey}.pub`, 'utf8').split(' ')[1]!, 'base64');
  const knownHostsPath = join(sshd.dir, 'ecdsa_known_hosts');
  writeFileSync(knownHostsPath, `${knownHostsLine(sshd.host, sshd.port, ecdsaBlob)}\n`);
  const tr = transport(t, sshd, { knownHostsPath });
  t.equal((await tr.exec(['echo', 'ok'])).stdout, 'ok\n');
});

t.test('a non-root login user', async (t) => {
  const user = ensureTestUser();
  const sshd = await startSshd({ address: '127.0.0.2', user: user.name }, t);
  const tr = transport(t, sshd);
  const result = await tr.exec(['sh', '-c', 'id -un; echo "$HOME"']);
  t.equal(result.stdout, `${user.name}\n${user.home}\n`);
});

t.test('failures to connect', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2' }, t);

  t.test('nothing listening: cannot reach (connection refused)', async (t) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.4', resolve));
    const address = probe.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const tr = transport(t, sshd, { host: '127.0.0.4', port });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `cannot reach 127.0.0.4:${port} (connection refused)`,
      hint: `is the host up and sshd listening on port ${port}? check BLUE_HOST / GREEN_HOST`,
    });
  });

  t.test('a server that never answers: no SSH handshake', async (t) => {
    const port = await tcpServer(t, () => undefined);
    const tr = transport(t, sshd, { host: '127.0.0.4', port, readyTimeoutMs: 300 });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: `cannot reach 127.0.0.4:${port} (no SSH handshake within 0.3 s)`,
    });
  });

  t.test('something that is not an SSH server', async (t) => {
    const port = await tcpServer(t, (socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const tr = transport(t, sshd, { host: '127.0.0.4', port });
    await t.rejects(tr.exec(['true']), {
      name: 'UserError',
      message: new RegExp(`^cannot open an SSH connection to ${sshd.user}@127\\.0\\.0\\.4:${port}: `),
      hint: `is 127.0.0.4:${port} an SSH server?`,
    });
  });

  t.test('after a failed connect, the next exec tries again', async (t) => {
    const knownHostsPath = join(sshd.dir, 'retry_known_hosts');
    const tr = transport(t, sshd, { knownHostsPath });
    await t.rejects(tr.exec(['true']), { message: /is not known/ });
    appendFileSync(knownHostsPath, `${knownHostsLine(sshd.host, sshd.port, hostKeyBlob(sshd))}\n`);
    t.equal((await tr.exec(['echo', 'ok'])).code, 0);
  });
});

t.test('keepalive notices a connection that stopped answering (network loss); the next exec reconnects', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2' }, t);
  const tr = transport(t, sshd, { keepaliveIntervalMs: 100 });
  let frozen: number[] = [];
  t.teardown(() => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
  });
  const running = tr.exec(['sh', '-c', 'echo started; sleep 30'], {
    onStdout: () => {
      if (frozen.length > 0) return;
      // Freeze the server side of this connection: it stays open but answers nothing, like a lost network.
      frozen = sshd.connectionPids();
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
  });
  await t.rejects(running, { name: 'UserError', message: /^lost the SSH connection to / });
  t.ok(frozen.length > 0);
  t.equal((await tr.exec(['echo', 'back'])).stdout, 'back\n');
});
