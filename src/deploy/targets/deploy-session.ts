import { PassThrough, Readable } from 'node:stream';
import type { ExecResult, Transport } from '../../adapters/transport/transport.js';
import { type Argv, TAR_RECORD_BYTES } from '../../core/remote-commands.js';

/**
 * Drives one deploy session on a host (see deploySessionCommand): one command whose stdin is the removal
 * lists, then the tar archive padded to whole records, then control lines (`switch`, `finish`) written as the
 * deploy goes on; its stdout says which steps are done. One command is one SSH session: a deploy costs one
 * round trip to start, not one per step.
 */
export class DeploySession {
  /** The command's outcome; rejects only when the transport fails (e.g. the connection is lost). */
  readonly finished: Promise<ExecResult>;
  readonly #control = new PassThrough();
  readonly #lines: string[] = [];
  #partial = '';
  #ended = false;
  #bytesSent = 0;
  readonly #waiters = new Set<() => void>();

  constructor(transport: Transport, argv: Argv, head: Buffer, archive: Readable | undefined) {
    const control = this.#control;
    const count = (chunk: Buffer) => {
      this.#bytesSent += chunk.length;
      return chunk;
    };
    const input = Readable.from(
      (async function* () {
        if (head.length > 0) yield count(head);
        if (archive) {
          let archived = 0;
          for await (const chunk of archive) {
            archived += (chunk as Buffer).length;
            yield count(chunk as Buffer);
          }
          // GNU tar reads whole records from a pipe: padded, it stops at the archive's end, leaving the control lines.
          const padding = (TAR_RECORD_BYTES - (archived % TAR_RECORD_BYTES)) % TAR_RECORD_BYTES;
          if (padding > 0) yield count(Buffer.alloc(padding));
        }
        for await (const chunk of control) yield chunk as Buffer;
      })(),
    );
    this.finished = transport.exec(argv, { stdin: input, onStdout: (chunk) => this.#read(chunk) }).finally(() => {
      this.#ended = true;
      if (this.#partial !== '') this.#lines.push(this.#partial);
      control.end();
      for (const wake of this.#waiters) wake();
    });
    // Failures are reported by `reached` and by whoever awaits `finished`.
    this.finished.catch(() => undefined);
  }

  /** Bytes written to the command so far (lists, archive and padding). */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Resolves true once the command printed `line`, false if it ended without printing it. */
  async reached(line: string): Promise<boolean> {
    while (!this.#lines.includes(line)) {
      if (this.#ended) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
    return true;
  }

  /** The lines printed before `line` (all of them when it was not printed). */
  linesBefore(line: string): string[] {
    const at = this.#lines.indexOf(line);
    return at < 0 ? [...this.#lines] : this.#lines.slice(0, at);
  }

  /** The lines printed after `line`. */
  linesAfter(line: string): string[] {
    const at = this.#lines.indexOf(line);
    return at < 0 ? [] : this.#lines.slice(at + 1);
  }

  /** Writes a control line. */
  send(line: string): void {
    if (!this.#control.writableEnded) this.#control.write(`${line}\n`);
  }

  /** Ends the command's input: a session waiting for a control line goes no further. */
  end(): void {
    this.#control.end();
  }

  #read(chunk: Buffer): void {
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = lines.pop() ?? '';
    this.#lines.push(...lines);
    for (const wake of this.#waiters) wake();
  }
}
