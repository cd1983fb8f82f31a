/**
 * The git endpoint over SSH (ssh2 `Server`): `ssh://git@server:7022/blue.git` with a user's public key. It only
 * authenticates and parses: the user is bound only once the client's signature verifies against one of that
 * user's keys (the key says who pushes; the login name is not asked), and the one command served is
 * git-receive-pack or git-upload-pack of blue.git or green.git. Everything else (a shell, a PTY, another command
 * or path, forwarding, an agent, environment other than GIT_PROTOCOL) is refused.
 *
 * A push runs the same git-receive-pack as over HTTP, with the same hooks and engine socket; the pusher is
 * recorded by the HTTP door's `trackPusher`, so the engine, the lock and history see the same push. The git
 * processes are looked after as the HTTP door's are (git-children.ts): ended with their hooks when the client
 * goes away. The exit status reaches the client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import { reposDir } from '../adapters/git/repos.js';
import { listenOn } from '../adapters/http/listen.js';
import { ensureHostKey } from '../adapters/ssh/host-key.js';
import { createUsersReader, findKeyOwner } from '../adapters/state/users.js';
import type { Config, Listen } from '../core/config.js';
import { formatHost } from '../core/config/hosts.js';
import { parseGitSshCommand } from '../core/git-ssh-command.js';
import { mayPush, pushRefusal } from '../core/roles.js';
import type { CloseOptions } from './git-server.js';
import { createGitChildren } from './git-children.js';
import { loggable } from './log-text.js';
import { waitUntil } from '../adapters/http/sleep.js';

export interface GitSshServerOptions {
  config: Config;
  listen: Listen;
  log: (line: string) => void;
  /** Tells the engine who runs a git-receive-pack (the HTTP door's). */
  trackPusher(child: ChildProcess, user: string): void;
}

export interface GitSshServer {
  /** e.g. `ssh://git@127.0.0.1:7022`; repositories are `${url}/blue.git` and `${url}/green.git`. */
  url: string;
  /** The host key's `SHA256:…` fingerprint. */
  fingerprint: string;
  /** Stops accepting connections; git processes under way get up to `graceMs`, then are ended. */
  close(options?: CloseOptions): Promise<void>;
}

const GIT_PROTOCOL = /^[A-Za-z0-9=:,._-]{1,100}$/;

/** Writes one line to the client's error output and ends the channel with `code`. */
function refuse(channel: ServerChannel, line: string, code = 1): void {
  channel.stderr.write(`${line}\n`);
  channel.exit(code);
  channel.end();
}

export async function startGitSshServer({ config, listen, log, trackPusher }: GitSshServerOptions): Promise<GitSshServer> {
  const hostKey = ensureHostKey(config.dataDir);
  const reposRoot = reposDir(config.dataDir);
  const readUsers = createUsersReader(config.dataDir, (error) =>
    log(`git-ssh: users file changed but cannot be used; the last good users stay in force: ${error instanceof Error ? error.message : String(error)}`),
  );
  const children = createGitChildren(log);
  // The port it really got, once it listens.
  let url = '';

  /** Runs the git command `command` for `user` (whose key is `keyBlob`) on `channel`. */
  const exec = (channel: ServerChannel, command: string, user: string, keyBlob: Buffer, gitProtocol: string | undefined) => {
    // A connection may outlive its key (a multiplexed client opens sessions later): ask again now.
    const owner = findKeyOwner(readUsers(), keyBlob);
    if (owner?.user.name !== user) {
      log(`git-ssh: refused a command from ${user}: their key was removed`);
      refuse(channel, 'bluegreen: this SSH key is no longer accepted');
      return;
    }
    const request = parseGitSshCommand(command);
    if ('refusal' in request) {
      log(`git-ssh: refused ${loggable(JSON.stringify(command))} from ${user}`);
      refuse(channel, request.refusal);
      return;
    }
    if (request.service === 'git-receive-pack' && !mayPush(owner.user.role)) {
      log(`git-ssh: refused a push by ${user}: a ${owner.user.role}`);
      refuse(channel, `bluegreen: ${pushRefusal(user, owner.user.role)}`);
      return;
    }
    const env = { ...process.env, ...(gitProtocol ? { GIT_PROTOCOL: gitProtocol } : {}) };
    const child = spawn(request.service, [path.join(reposRoot, `${request.colour}.git`)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', (error) => log(`git-ssh: cannot run ${request.service}: ${error.message}`));
    children.adopt(child, channel, request.service);
    if (request.service === 'git-receive-pack') trackPusher(child, user);
    channel.pipe(child.stdin);
    child.stdout.pipe(channel, { end: false });
    child.once('close', (code, signal) => {
      if (channel.closed || channel.destroyed) return;
      channel.exit(code ?? (signal ? 128 : 1));
      channel.end();
    });
  };

  const onConnection = (client: Connection, info: { ip: string }) => {
    let user: string | undefined;
    let keyBlob: Buffer | undefined;
    client.on('error', (error) => log(`git-ssh: ${info.ip}: ${error.message}`));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const owner = findKeyOwner(readUsers(), ctx.key.data);
      if (!owner) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether this key would do: the answer binds nobody.
      if (!ctx.signature) return ctx.accept();
      if (!ctx.blob || !owner.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
        log(`git-ssh: ${info.ip}: a bad signature for ${owner.user.name}'s key ${owner.key.fingerprint}`);
        return ctx.reject(['publickey']);
      }
      user = owner.user.name;
      keyBlob = owner.key.blob;
      ctx.accept();
    });
    client.on('ready', () => {
      const who = user;
      const blob = keyBlob;
      if (who === undefined || blob === undefined) {
        client.end();
        return;
      }
      client.on('session', (accept) => {
        const session = accept();
        let gitProtocol: string | undefined;
        session.on('env', (acceptEnv, rejectEnv, env) => {
          if (env.key === 'GIT_PROTOCOL' && GIT_PROTOCOL.test(env.val)) {
            gitProtocol = env.val;
            acceptEnv?.();
          } else rejectEnv?.();
        });
        for (const event of ['pty', 'x11', 'auth-agent', 'window-change', 'signal'] as const) {
          session.on(event as 'pty', (_accept, reject) => reject?.());
        }
        session.on('subsystem', (_accept, reject) => reject?.());
        session.on('sftp', (_accept, reject) => reject?.());
        session.on('shell', (acceptShell) => {
          const role = readUsers().get(who)?.role ?? 'viewer';
          refuse(acceptShell(), `bluegreen: hello ${who} (${role}); there is no shell here: use git with ${url}/blue.git or /green.git`);
        });
        session.on('exec', (acceptExec, _reject, request) => exec(acceptExec(), request.command, who, blob, gitProtocol));
      });
      client.on('tcpip', (_accept, reject) => reject());
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  };

  const ssh = new ssh2.Server({ hostKeys: [hostKey.privateKey], ident: 'bluegreen' }, onConnection);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    ssh.injectSocket(socket);
  });
  await listenOn(server, listen, { variable: 'BLUEGREEN_SSH_LISTEN', form: 'host:port (or off)' });
  server.on('error', (error) => log(`git-ssh: server error: ${error.message}`));
  url = `ssh://git@${formatHost(listen.host)}:${(server.address() as net.AddressInfo).port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    fingerprint: hostKey.fingerprint,
    close({ graceMs = 0, hurry }: CloseOptions = {}) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await waitUntil(() => children.size === 0, graceMs, hurry, 50);
        if (children.size > 0) log(`git-ssh: ending ${children.size} git process(es) still running`);
        await children.endAll();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}
