import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import type { ExecOptions, ExecResult, Transport } from './transport.js';

/** Runs host commands on this machine, for `file://` hosts. No shell is involved: argv is passed as is. */
export class LocalTransport implements Transport {
  readonly label = 'this machine';

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const [command, ...args] = argv;
    if (!command) return Promise.reject(new Error('empty command'));
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytesSent = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        options.onStdout?.(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({
          code: code ?? 255,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8') + (signal ? `\nkilled by ${signal}` : ''),
          bytesSent,
        }),
      );
      // A command that exits without reading all of stdin is not an error of ours: its exit code says.
      child.stdin.on('error', () => {});
      const input = options.stdin;
      if (input === undefined) {
        child.stdin.end();
        return;
      }
      const source = typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([Buffer.from(input)]) : input;
      source.on('data', (chunk: Buffer | string) => {
        bytesSent += Buffer.byteLength(chunk);
      });
      source.on('error', (error) => {
        child.kill();
        reject(error);
      });
      source.pipe(child.stdin);
    });
  }

  async close(): Promise<void> {}
}
