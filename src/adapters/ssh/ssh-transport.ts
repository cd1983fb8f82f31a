/**
 * The SSH transport: one warm ssh2 connection per host, opened on the first exec and reused by every exec
 * after it (several exec channels may run at once). Host keys are always checked: against an OpenSSH
 * known_hosts file, re-read on each connect, or against the one key provisioning pinned after its scan. A dropped
 * connection is replaced on the next exec; an exec that was running when it dropped fails with a clear error. The
 * wording of every such error is in ssh-errors.ts.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import type { UserError } from '../../core/errors.js';
import { drained } from '../streams/drained.js';
import type { ExecOptions, ExecResult, Transport } from '../transport/transport.js';
import { shellQuote } from '../transport/shell-quote.js';
import { checkHostKey, keyType, knownKeyTypes } from './known-hosts.js';
import { sleep } from '../http/sleep.js';
import {
  type SshError,
  channelOpenError,
  connectError,
  errorText,
  hostKeyError,
  lostConnectionError,
  pinnedHostKeyError,
  unreadableKeyError,
  unreadableKnownHostsError,
  unusableKeyError,
} from './ssh-errors.js';

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
    throw unreadableKeyError(path, error);
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

/** How often, and after how long a pause (times the attempt), a refused channel is asked for again. */
const OPEN_RETRIES = 5;
const OPEN_RETRY_MS = 50;

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

  /**
   * Opens an exec channel; if the warm connection turns out to be dead, retries once on a fresh one; if the
   * host refuses the channel, retries a few times after a pause.
   */
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
        // sshd frees a closed session a moment after the close: a burst of short commands can find all of its
        // MaxSessions still taken. The command never started, so it may wait and try again.
        if (!dead && /Channel open failure/.test(errorText(error)) && attempt < OPEN_RETRIES) {
          await sleep(OPEN_RETRY_MS * (attempt + 1));
          continue;
        }
        throw channelOpenError(this.label, command, error);
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
      client.on('error', (error: SshError) => {
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
          verifyError = pinnedHostKeyError(this.#hostPort, key);
          return false;
        }
        const result = checkHostKey(knownHosts, host, port, key);
        if (result.status === 'trusted') return true;
        verifyError = hostKeyError(result.status, key, { host, port, hostPort: this.#hostPort, knownHostsPath });
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
        fail(unusableKeyError(error, { login: this.#options.login, privateKeyPath: this.#options.privateKeyPath }));
      }
    });
  }

  #connectError(error: SshError): UserError {
    const { host, port, user, login, privateKeyPath } = this.#options;
    return connectError(error, {
      host,
      port,
      hostPort: this.#hostPort,
      user,
      login,
      privateKeyPath,
      withKey: this.#options.privateKey !== undefined,
      readyTimeoutMs: this.#options.readyTimeoutMs ?? 20_000,
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
          reject(lostConnectionError(this.label, command));
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
    throw unreadableKnownHostsError(path, error);
  }
}

function* chunked(buffer: Buffer, size = 64 * 1024): Iterable<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}
