/** Running commands for the benchmark: timed, output captured, failures thrown with their output. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Don't throw on a non-zero exit. */
  allowFail?: boolean;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = {
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        seconds: (performance.now() - t0) / 1000,
      };
      if (result.code !== 0 && !options.allowFail) {
        reject(new Error(`${command} ${args.join(' ')} exited ${result.code}${signal ? ` (${signal})` : ''}:\n${result.stdout}${result.stderr}`));
      } else resolve(result);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** `bash -o pipefail -c SCRIPT`. */
export function sh(script: string, options: RunOptions = {}): Promise<RunResult> {
  return run('bash', ['-o', 'pipefail', '-c', script], options);
}

/** Quotes one argument for a POSIX shell. */
export function q(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export { descendants } from '../test/helpers/sshd.js';

/** VmHWM / VmRSS / RssAnon (KiB) and the command name of a process, or undefined if it is gone. */
export function memoryOf(pid: number): { hwmKiB: number; rssKiB: number; anonKiB: number; name: string; cmdline: string } | undefined {
  const status = safeRead(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
  const cmdline = (safeRead(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
  return { hwmKiB: field('VmHWM'), rssKiB: field('VmRSS'), anonKiB: field('RssAnon'), name, cmdline };
}
