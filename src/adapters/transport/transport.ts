import type { Readable } from 'node:stream';

export interface ExecOptions {
  /** Bytes to feed the remote command's stdin; the stream is ended when it ends. */
  stdin?: Readable | Buffer | string;
  /** Called with each chunk of stdout as it arrives (stdout is still collected). */
  onStdout?: (chunk: Buffer) => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Bytes written to the command's stdin. */
  bytesSent: number;
}

/**
 * How the deploy engine runs commands on a host. `argv` is never passed through a local shell; the SSH
 * transport quotes it for the remote shell in exactly one place (shell-quote.ts).
 */
export interface Transport {
  /** Human-readable target, e.g. `deploy@127.0.0.2:2222`, used in progress and error messages. */
  readonly label: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}
