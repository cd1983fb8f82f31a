import type { Colour } from './colour.js';
import { shortSha } from './format.js';

/** What one host of a colour holds, as far as reconciling goes. */
export interface HostHolding {
  label: string;
  /** Release ids, oldest first. */
  releases: string[];
  current: string | undefined;
  currentRevision: string | undefined;
}

export type ReconcileStep =
  /** The host serves what git never accepted: back to the newest release of main. */
  | { kind: 'activate'; host: string; release: string; serving: string | undefined }
  /** The host serves something else and has no release of main: a deploy must bring it. */
  | { kind: 'deploy-needed'; host: string; serving: string | undefined }
  /** Every host serves main (once put back) but history does not say so (the server stopped before recording it). */
  | { kind: 'record'; revision: string; release: string };

/**
 * How to make a colour's `main`, its hosts and its history agree again after the server stopped at a bad
 * moment. `main` is the truth: git moved it only for a deploy that stood, so a host serving anything else is
 * put back. Pure.
 */
export function planReconcile(input: {
  colour: Colour;
  main: string | undefined;
  hosts: readonly HostHolding[];
  /** The revision history says the colour serves (its last deploy or activation). */
  recorded: string | undefined;
  /** When the last record is an activation (`bluegreen activate`), the revision it put in place, which stands. */
  activated: string | undefined;
}): ReconcileStep[] {
  const { main } = input;
  if (!main) return [];
  const steps: ReconcileStep[] = [];
  for (const host of input.hosts) {
    if (host.currentRevision === main || (input.activated !== undefined && host.currentRevision === input.activated)) continue;
    const release = [...host.releases].reverse().find((id) => id.endsWith(`-${shortSha(main)}`));
    steps.push(release ? { kind: 'activate', host: host.label, release, serving: host.currentRevision } : { kind: 'deploy-needed', host: host.label, serving: host.currentRevision });
  }
  const first = input.hosts[0];
  const activated = steps.find((s): s is Extract<ReconcileStep, { kind: 'activate' }> => s.kind === 'activate' && s.host === first?.label);
  const firstRelease = activated?.release ?? first?.current;
  if (firstRelease && input.recorded !== main && input.activated === undefined && !steps.some((s) => s.kind === 'deploy-needed')) {
    steps.push({ kind: 'record', revision: main, release: firstRelease });
  }
  return steps;
}
