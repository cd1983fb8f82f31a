import { shortSha } from './format.js';

/** Release directories are named `<UTC yyyymmddHHMMSS>-<sha12>`, so names sort by time. */
const RELEASE_ID = /^(\d{14})-([0-9a-f]{12})$/;

export function releaseId(at: Date, revision: string): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${shortSha(revision)}`;
}

export function isReleaseId(value: string): boolean {
  return RELEASE_ID.test(value);
}

/** The time a release id encodes, as an ISO string. */
export function releaseTime(id: string): string | undefined {
  const match = RELEASE_ID.exec(id);
  if (!match?.[1]) return undefined;
  const s = match[1];
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}Z`;
}

export function isFullSha(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}
