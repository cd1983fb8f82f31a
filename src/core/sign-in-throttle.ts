/**
 * How long a client must wait before its next sign-in attempt, after failed ones: a few mistakes cost
 * nothing, then every further failure doubles the wait, up to a minute. Pure: the caller keeps the counts.
 */
export const FREE_FAILURES = 5;
const MAX_WAIT_MS = 60_000;
/** Failures this long ago are forgotten. */
const FORGET_AFTER_MS = 15 * 60_000;

export interface FailedSignIns {
  failures: number;
  /** When the last one happened (ms since the epoch). */
  last: number;
}

/** Milliseconds until the next attempt is allowed (0: now). */
export function signInWait(record: FailedSignIns | undefined, now: number): number {
  if (!record || now - record.last >= FORGET_AFTER_MS || record.failures < FREE_FAILURES) return 0;
  const wait = Math.min(MAX_WAIT_MS, 1000 * 2 ** (record.failures - FREE_FAILURES));
  return Math.max(0, record.last + wait - now);
}

/** The record after one more failure at `now`. */
export function afterFailure(record: FailedSignIns | undefined, now: number): FailedSignIns {
  const failures = record && now - record.last < FORGET_AFTER_MS ? record.failures + 1 : 1;
  return { failures, last: now };
}
