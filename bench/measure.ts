/** Samples, medians and ratios for the benchmark table. */
import type { ExecCount } from './host-sessions.js';

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Raw samples in run order (seconds, or whatever unit the scenario uses). */
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, samples: [...samples] };
}

/** Wall-clock seconds of `work`, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { seconds: (performance.now() - t0) / 1000, value };
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

export function fmtSummary(s: Summary | undefined, unit = 's'): string {
  if (s === undefined || s.samples.length === 0) return '—';
  const f = unit === 's' ? fmtSeconds : (v: number) => String(Math.round(v));
  return `${f(s.median)} ${unit} (${f(s.min)}–${f(s.max)})`;
}

/** "3 on the push's clock + 2 after" from each deploy's count on each host (a range where they differ). */
export function fmtExecs(execs: readonly ExecCount[] | undefined): string {
  if (execs === undefined || execs.length === 0) return '';
  const range = (values: number[]) => {
    const s = summarize(values);
    return s.min === s.max ? String(s.min) : `${s.median} (${s.min}–${s.max})`;
  };
  const after = execs.flatMap((e) => (e.after === undefined ? [] : [e.after]));
  const connections = execs.map((e) => e.connections);
  return (
    `${range(execs.map((e) => e.onClock))} on the push's clock` +
    (after.length > 0 ? ` + ${range(after)} after` : '') +
    (connections.some((n) => n > 0) ? `; new SSH connections ${range(connections)}` : '')
  );
}
