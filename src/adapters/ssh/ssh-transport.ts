/**
 * The SSH transport: one warm ssh2 connection per host, opened on the first exec and reused by every exec
 * after it (several exec channels may run at once). Host keys are always checked: against an OpenSSH
 * known_hosts file, re-read on each connect, or against the one key provisioning pinned after its scan. A dropped connection is replaced on the next exec; an exec
 * that was running when it dropped fails with a clear error.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { UserError } from '../../core/errors.js';
import { drained } from '../streams/drained.js';
import type { ExecOptions, ExecResult, Transport } from '../transport/transport.js';
import { shellQuote } from '../transport/shell-quote.js';
import { checkHostKey, fingerprint, hostKeyName, keyType, knownKeyTypes } from './known-hosts.js';

export interface SshTransportOptions {
  host: string;
  port: number;
  user: string;
  /** The private key (OpenSSH or PEM, unencrypted); without one, `agent` is used. */
  privateKey?: Buffer;
  /** Where the key came from, for messages. */
  privateKeyPath?: string;
  /** An SSH agent's socket (SSH_AUTH_SOCK), for logins without a key file. */
  agent?: string;
  /** OpenSSH known_hosts file the host key must be in. A missing file counts as empty. */
  knownHostsPath?: string;
  /** Accept exactly this host key instead of consulting known_hosts (provisioning, right after its scan). */
  pinnedHostKey?: Buffer;
  /** Whose login this is, for messages: the deploy user (default) or the provisioning administrator. */
  login?: 'deploy' | 'admin';
  /** Keepalive probe interval; the connection is dropped after 3 unanswered probes. Default 15 s. */
  keepaliveIntervalMs?: number;
  /** How long the TCP connect + SSH handshake may take. Default 20 s. */
  readyTimeoutMs?: number;
  /** Most exec channels open at once on the connection (OpenSSH's MaxSessions defaults to 10). Default 8. */
  maxChannels?: number;
}

/** What the remote command's exit reported: a code, or the signal that ended it. */
interface ExitStatus {
  code?: number | null;
  signal?: string;
}

/** Reads a private key file, or throws a UserError naming it. */
export function readPrivateKey(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read the SSH key ${path}: ${errorText(error)}`, {
      hint: 'set BLUEGREEN_SSH_KEY to a readable private key, or create one with `bluegreen init`',
      cause: error,
    });
  }
}

/** ssh2's default host key algorithm order (Node ≥ 20 has ed25519). */
const DEFAULT_HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms with the key types known_hosts already has for this host first, as OpenSSH orders them. */
function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const first: ServerHostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    const algorithms = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const algorithm of algorithms) {
      const known = DEFAULT_HOST_KEY_ALGORITHMS.find((a) => a === algorithm);
      if (known !== undefined && !first.includes(known)) first.push(known);
    }
  }
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EHOSTDOWN: 'host is down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** The error for a host that could not be reached (refused, no route, no handshake in time), if that is what happened. */
export function unreachableError(
  hostPort: string,
  port: number,
  error: Error & { level?: string; code?: string },
  readyTimeoutMs: number,
): UserError | undefined {
  const hint = `is the host up and sshd listening on port ${port}? check BLUE_HOST / GREEN_HOST`;
  const reason = error.code === undefined ? undefined : UNREACHABLE[error.code];
  if (reason !== undefined) return new UserError(`cannot reach ${hostPort} (${reason})`, { hint, cause: error });
  if (error.level === 'client-timeout') {
    return new UserError(`cannot reach ${hostPort} (no SSH handshake within ${readyTimeoutMs / 1000} s)`, { hint, cause: error });
  }
  return undefined;
}

interface Connection {
  client: Client;
  /** Set once the socket has ended or closed: no new channel can be opened on it. */
  closed: boolean;
}

/** A counting semaphore, so we never open more channels than the server allows. */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(count: number) {
    this.#free = count;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

export class SshTransport implements Transport {
  readonly label: string;
  readonly #options: SshTransportOptions;
  readonly #hostPort: string;
  readonly #slots: Slots;
  #connection: Connection | undefined;
  #connecting: Promise<Connection> | undefined;

  constructor(options: SshTransportOptions) {
    this.#options = options;
    this.#hostPort = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    this.label = `${options.user}@${this.#hostPort}`;
    this.#slots = new Slots(options.maxChannels ?? 8);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new Error('SshTransport.exec: empty argv');
    const command = shellQuote(argv);
    // Listen for a stdin stream's error from the start: it may fail before the channel is open.
    const input = options.stdin;
    const inputState: { error?: unknown } = {};
    if (input instanceof Readable) input.once('error', (error) => (inputState.error ??= error));
    await this.#slots.acquire();
    try {
      const { connection, channel, exit } = await this.#openChannel(command);
      return await this.#run(connection, channel, exit, command, options, inputState);
    } finally {
      this.#slots.release();
    }
  }

  async close(): Promise<void> {
    const pending = this.#connecting;
    if (pending !== undefined) await pending.catch(() => undefined);
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined || connection.closed) return;
    await new Promise<void>((resolve) => {
      // A host that does not answer the disconnect must not hold up shutting down.
      const timer = setTimeout(() => connection.client.destroy(), 2000);
      connection.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      connection.client.end();
    });
  }

  /** Opens an exec channel; if the warm connection turns out to be dead, retries once on a fresh one. */
  async #openChannel(command: string): Promise<{ connection: Connection; channel: ClientChannel; exit: ExitStatus }> {
    for (let attempt = 0; ; attempt++) {
      const connection = await this.#connect();
      try {
        const { channel, exit } = await new Promise<{ channel: ClientChannel; exit: ExitStatus }>((resolve, reject) => {
          connection.client.exec(command, (error, channel) => {
            if (error) return reject(error);
            // Record the exit status now: a fast command's status can arrive in the same read as the
            // channel's confirmation, before listeners attached after this promise resolves.
            const exit: ExitStatus = {};
            channel.on('exit', (code: number | null, signal?: string) => {
              exit.code = code;
              if (typeof signal === 'string') exit.signal = signal;
            });
            resolve({ channel, exit });
          });
        });
        return { connection, channel, exit };
      } catch (error) {
        // 'Not connected' (thrown) or 'No response from server' (the socket closed under the request):
        // the command never started, so another connection may safely try it.
        const dead = connection.closed || errorText(error) === 'Not connected';
        if (dead) this.#forget(connection);
        if (dead && attempt === 0) continue;
        throw new UserError(`could not start \`${brief(command)}\` on ${this.label}: ${errorText(error)}`, {
          hint: 'the host may limit concurrent SSH sessions (sshd_config MaxSessions)',
          cause: error,
        });
      }
    }
  }

  #forget(connection: Connection): void {
    connection.closed = true;
    if (this.#connection === connection) this.#connection = undefined;
    connection.client.destroy();
  }

  #connect(): Promise<Connection> {
    if (this.#connection !== undefined && !this.#connection.closed) return Promise.resolve(this.#connection);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #open(): Promise<Connection> {
    const { host, port, user, knownHostsPath, pinnedHostKey } = this.#options;
    const knownHosts = pinnedHostKey ? '' : readKnownHosts(knownHostsPath ?? '');
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      const connection: Connection = { client, closed: false };
      let settled = false;
      let verifyError: UserError | undefined;
      const fail = (error: UserError) => {
        if (settled) return;
        settled = true;
        connection.closed = true;
        client.destroy();
        reject(error);
      };
      const markClosed = () => {
        connection.closed = true;
        if (this.#connection === connection) this.#connection = undefined;
      };
      client.on('ready', () => {
        // Small writes (a command, a short stdin) must not wait for the peer's delayed ACK (~40 ms each).
        client.setNoDelay(true);
        if (settled) return;
        settled = true;
        this.#connection = connection;
        resolve(connection);
      });
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        // After 'ready', errors (keepalive timeout, reset) are followed by 'close'; the exec that was
        // running reports the loss.
        fail(verifyError ?? this.#connectError(error));
      });
      client.on('end', markClosed);
      client.on('close', () => {
        markClosed();
        fail(verifyError ?? this.#connectError(new Error('the server closed the connection')));
      });

      const hostVerifier = (key: Buffer): boolean => {
        if (pinnedHostKey) {
          if (pinnedHostKey.equals(key)) return true;
          verifyError = new UserError(`host key of ${this.#hostPort} changed between the scan and the login: it offered ${fingerprint(key)}`, {
            hint: 'someone may be intercepting the connection; check the host, then run provision again',
          });
          return false;
        }
        const result = checkHostKey(knownHosts, host, port, key);
        if (result.status === 'trusted') return true;
        verifyError = this.#hostKeyError(result.status, key);
        return false;
      };

      const config: ConnectConfig = {
        host,
        port,
        username: user,
        ...(this.#options.privateKey ? { privateKey: this.#options.privateKey } : { agent: this.#options.agent }),
        hostVerifier,
        keepaliveInterval: this.#options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        readyTimeout: this.#options.readyTimeoutMs ?? 20_000,
        algorithms: { serverHostKey: hostKeyAlgorithms(pinnedHostKey ? [keyType(pinnedHostKey)] : knownKeyTypes(knownHosts, host, port)) },
      };
      try {
        client.connect(config);
      } catch (error) {
        // ssh2 parses the key synchronously.
        const admin = this.#options.login === 'admin';
        fail(
          new UserError(`the ${admin ? 'admin' : 'SSH'} key ${this.#options.privateKeyPath ?? '(deploy key)'} cannot be used: ${errorText(error)}`, {
            exitCode: 2,
            hint: admin
              ? 'BLUEGREEN_ADMIN_KEY must be an unencrypted private key (OpenSSH or PEM); for a key with a passphrase, load it into ssh-agent and unset BLUEGREEN_ADMIN_KEY'
              : 'it must be an unencrypted private key (OpenSSH or PEM format); `bluegreen init` writes one',
            cause: error,
          }),
        );
      }
    });
  }

  #hostKeyError(status: 'unknown' | 'changed' | 'revoked', key: Buffer): UserError {
    const { host, port, knownHostsPath } = this.#options;
    const offered = fingerprint(key);
    const scan = `ssh-keyscan -p ${port} ${host} >> ${knownHostsPath}`;
    if (status === 'unknown') {
      return new UserError(`host key of ${this.#hostPort} is not known: it offered ${offered}`, {
        hint: `check the fingerprint, then add it: ${scan} (or \`bluegreen provision blue|green --host-key ${offered}\`)`,
      });
    }
    if (status === 'revoked') {
      return new UserError(
        `host key of ${this.#hostPort} is REVOKED: it offered ${offered}, which ${knownHostsPath} marks @revoked`,
        { hint: 'the host must get a new host key; check its fingerprint out of band, then trust it' },
      );
    }
    return new UserError(
      `host key of ${this.#hostPort} has CHANGED: it offered ${offered}, which does not match ${knownHostsPath}; ` +
        'someone may be intercepting the connection (man-in-the-middle), or the host was rebuilt',
      {
        hint:
          `if the host was rebuilt, check the new fingerprint out of band, remove the old entry ` +
          `(ssh-keygen -R '${hostKeyName(host, port)}' -f ${knownHostsPath}), then add the new one: ${scan}`,
      },
    );
  }

  #connectError(error: Error & { level?: string; code?: string }): UserError {
    const { host, port, user } = this.#options;
    const unreachable = unreachableError(this.#hostPort, port, error, this.#options.readyTimeoutMs ?? 20_000);
    if (unreachable) return unreachable;
    if (error.level === 'client-authentication' && this.#options.login === 'admin') {
      return new UserError(`the admin login ${user}@${this.#hostPort} was refused: the server accepted none of our credentials`, {
        hint: this.#options.privateKey
          ? `is ${this.#options.privateKeyPath ?? 'the admin key'}'s public key in ~${user}/.ssh/authorized_keys on the host? (BLUEGREEN_ADMIN_KEY, BLUEGREEN_ADMIN_USER)`
          : `does the SSH agent (SSH_AUTH_SOCK) hold a key authorized for ${user} on the host? or set BLUEGREEN_ADMIN_KEY`,
        cause: error,
      });
    }
    if (error.level === 'client-authentication') {
      return new UserError(
        `SSH login as ${user}@${this.#hostPort} was refused: the server accepted none of our keys (${error.message})`,
        {
          hint:
            `is the deploy key${this.#options.privateKeyPath === undefined ? '' : ` (${this.#options.privateKeyPath}.pub)`} ` +
            `authorized for ${user} on ${host}? \`bluegreen provision\` installs it`,
          cause: error,
        },
      );
    }
    return new UserError(`cannot open an SSH connection to ${this.label}: ${error.message}`, {
      hint: `is ${this.#hostPort} an SSH server?`,
      cause: error,
    });
  }

  #run(
    connection: Connection,
    channel: ClientChannel,
    exit: ExitStatus,
    command: string,
    options: ExecOptions,
    inputState: { error?: unknown },
  ): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytesSent = 0;
      let channelClosed = false;
      let stderrClosed = false;
      let finished = false;

      /** Fails the exec now (the remote command may not stop at once: we ask it to, and close the channel). */
      const abort = (error: unknown) => {
        if (finished) return;
        finished = true;
        reject(error);
        try {
          channel.signal('TERM');
          channel.close();
        } catch {
          // the channel is already gone
        }
      };

      const finish = () => {
        if (finished || !channelClosed || !stderrClosed) return;
        finished = true;
        let stderrText = Buffer.concat(stderr).toString('utf8');
        const { code, signal } = exit;
        if (typeof code === 'number') {
          resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderrText, bytesSent });
          return;
        }
        if (connection.closed) {
          reject(
            new UserError(`lost the SSH connection to ${this.label} while running \`${brief(command)}\``, {
              hint: 'the command may or may not have finished on the host; check the host, then run it again',
            }),
          );
          return;
        }
        if (stderrText !== '' && !stderrText.endsWith('\n')) stderrText += '\n';
        stderrText += `bluegreen: the remote command ended without an exit status${signal === undefined ? '' : ` (killed by ${signal})`}\n`;
        resolve({ code: 255, stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderrText, bytesSent });
      };

      channel.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        if (options.onStdout === undefined || finished) return;
        try {
          options.onStdout(chunk);
        } catch (error) {
          abort(error);
        }
      });
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('error', () => {
        // Writes racing the channel's close; the close event reports the outcome.
      });
      channel.once('close', () => {
        channelClosed = true;
        finish();
      });
      let stderrDone = false;
      const onStderrDone = () => {
        if (stderrDone) return;
        stderrDone = true;
        stderrClosed = true;
        finish();
      };
      channel.stderr.once('end', onStderrDone);
      channel.stderr.once('close', onStderrDone);

      const feed = async () => {
        const input = options.stdin;
        if (input !== undefined) {
          const source: AsyncIterable<unknown> | Iterable<Buffer> =
            typeof input === 'string' || Buffer.isBuffer(input) ? chunked(Buffer.from(input)) : input;
          for await (const chunk of source) {
            if (channelClosed || finished) break;
            const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
            bytesSent += buffer.length;
            if (!channel.write(buffer) && !channelClosed) await drained(channel);
          }
        }
        if (inputState.error !== undefined) throw inputState.error;
        if (!channelClosed && !finished) channel.end();
      };
      feed().catch(abort);
    });
  }
}

function readKnownHosts(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new UserError(`cannot read the known_hosts file ${path}: ${errorText(error)}`, {
      hint: 'set BLUEGREEN_KNOWN_HOSTS to a readable OpenSSH known_hosts file',
      cause: error,
    });
  }
}

function* chunked(buffer: Buffer, size = 64 * 1024): Iterable<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}

function brief(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
