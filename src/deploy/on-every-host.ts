import pLimit from 'p-limit';
import type { Colour } from '../core/colour.js';
import { messageOf, UserError } from '../core/errors.js';
import type { DeployTarget } from './targets/target.js';

export interface HostFailure {
  target: DeployTarget;
  error: unknown;
}


/** One error naming every host that failed and why. */
export function hostsFailed(action: string, colour: Colour, failures: readonly HostFailure[], total: number, then: string): UserError {
  if (total === 1 && failures[0]) {
    const only = failures[0].error;
    if (only instanceof UserError) return new UserError(`${only.message}; ${then}`, { hint: only.hint, cause: only });
    return new UserError(`${action} failed on ${colour} (${failures[0].target.label}): ${messageOf(only)}; ${then}`, { cause: only });
  }
  const lines = failures.map((f) => `  ${f.target.label}: ${messageOf(f.error)}`);
  const hints = [...new Set(failures.flatMap((f) => (f.error instanceof UserError && f.error.hint ? [f.error.hint] : [])))];
  return new UserError(`${action} failed on ${failures.length} of ${total} hosts of ${colour}; ${then}:\n${lines.join('\n')}`, {
    hint: hints.join('; ') || undefined,
  });
}

/** Runs `work` on every target, at most `parallel` at once, and sorts the outcomes. */
export async function onEvery<T>(targets: readonly DeployTarget[], parallel: number, work: (target: DeployTarget, index: number) => Promise<T>) {
  const limit = pLimit(Math.max(1, parallel));
  const outcomes = await Promise.allSettled(targets.map((target, index) => limit(() => work(target, index))));
  const done: { target: DeployTarget; value: T }[] = [];
  const failed: HostFailure[] = [];
  outcomes.forEach((outcome, index) => {
    const target = targets[index] as DeployTarget;
    if (outcome.status === 'fulfilled') done.push({ target, value: outcome.value });
    else failed.push({ target, error: outcome.reason });
  });
  return { done, failed };
}

