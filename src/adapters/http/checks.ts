/** HTTP checks against a colour's own address or the public address: health (N consecutive 2xx) and REVISION. */
import { messageOf, UserError } from '../../core/errors.js';
import { formatSeconds, shortSha } from '../../core/format.js';
import { describeFetchError } from './fetch-problem.js';
import { type Sleep, sleep as realSleep } from './sleep.js';

export interface HealthOptions {
  /** 2xx answers needed in a row. */
  consecutive?: number;
  /** Pause between tries. */
  intervalMs?: number;
  /** Give up when this much time has passed since the first try. */
  deadlineMs?: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  sleep?: Sleep;
  now?: () => number;
}

/** What `checkHealth` found. `lastFailure` is a short phrase: `HTTP 503`, `connection refused`, `timed out after 5000 ms`. */
export interface HealthResult {
  ok: boolean;
  url: string;
  attempts: number;
  /** 2xx answers in a row at the end. */
  consecutiveOk: number;
  lastFailure: string | undefined;
  /** One line for people, e.g. `http://x/health: 3 consecutive 2xx` or `http://x/health: connection refused (5 tries in 30 s)`. */
  summary: string;
}

/** Joins a base URL and a path that starts with `/`, keeping any path in the base. */
export function joinUrl(baseUrl: string, pathname: string): string {
  return baseUrl.replace(/\/+$/, '') + (pathname.startsWith('/') ? pathname : `/${pathname}`);
}

/** One GET: undefined when it answered 2xx, else a short phrase saying what failed. */
async function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return undefined;
    const location = response.headers.get('location');
    return `HTTP ${response.status}${location ? ` (redirect to ${location})` : ''}`;
  } catch (error) {
    return describeFetchError(error, timeoutMs);
  }
}

/** Polls `baseUrl + healthPath` until it answers 2xx `consecutive` times in a row, or the deadline passes. Never throws. */
export async function checkHealth(baseUrl: string, healthPath: string, options: HealthOptions = {}): Promise<HealthResult> {
  const consecutive = options.consecutive ?? 3;
  const intervalMs = options.intervalMs ?? 1000;
  const deadlineMs = options.deadlineMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const url = joinUrl(baseUrl, healthPath);
  const started = now();
  let attempts = 0;
  let inARow = 0;
  let lastFailure: string | undefined;
  for (;;) {
    attempts += 1;
    const failure = await probe(url, requestTimeoutMs);
    if (failure === undefined) {
      inARow += 1;
      if (inARow >= consecutive) {
        return { ok: true, url, attempts, consecutiveOk: inARow, lastFailure, summary: `${url}: ${inARow} consecutive 2xx` };
      }
    } else {
      inARow = 0;
      lastFailure = failure;
    }
    if (now() - started + intervalMs > deadlineMs) break;
    await sleep(intervalMs);
  }
  const seconds = Math.round((now() - started) / 1000);
  const why = lastFailure ?? 'no failure, but too few 2xx in a row';
  return {
    ok: false,
    url,
    attempts,
    consecutiveOk: inARow,
    lastFailure,
    summary: `${url}: ${why} (needed ${consecutive} consecutive 2xx; ${attempts} tries in ${seconds} s)`,
  };
}

/** Reads `baseUrl/REVISION`: the full 40-hex commit sha of the release being served. Throws a UserError saying what was wrong. */
export async function readRevision(baseUrl: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const url = joinUrl(baseUrl, '/REVISION');
  let text: string;
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
    if (response.status < 200 || response.status >= 300) {
      throw new UserError(`could not read the revision at ${url}: HTTP ${response.status}`, {
        hint: 'is a release deployed there? each release serves its commit sha as /REVISION',
      });
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`could not read the revision at ${url}: ${describeFetchError(error, timeoutMs)}`, {
      hint: 'check that the host is up and that its URL (BLUE_URL / GREEN_URL) is right',
    });
  }
  const revision = text.trim();
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    const shown = revision.length > 60 ? `${revision.slice(0, 60)}…` : revision;
    throw new UserError(`${url} does not hold a commit sha (40 hex digits): got ${JSON.stringify(shown)}`, {
      hint: 'the web root may not be a bluegreen release; deploy with git push',
    });
  }
  return revision;
}

/** How checks against BLUEGREEN_VERIFY_TIMEOUT poll: within the timeout, every tenth of it (50–500 ms). */
export function verifyTiming(verifyTimeoutMs: number): { deadlineMs: number; intervalMs: number } {
  return { deadlineMs: verifyTimeoutMs, intervalMs: Math.min(500, Math.max(50, verifyTimeoutMs / 10)) };
}

/**
 * Polls until `baseUrl` serves `revision` (its /REVISION) and answers 2xx on `healthPath`: an address may take a
 * moment to follow (a load balancer draining, a slot restarting). Throws an Error saying what it saw last;
 * `whose` names the revision in it (`green's`).
 */
export async function waitUntilServing(
  baseUrl: string,
  healthPath: string,
  revision: string,
  whose: string,
  timing: { deadlineMs: number; intervalMs: number; sleep?: Sleep },
): Promise<void> {
  const deadline = Date.now() + timing.deadlineMs;
  let last = '';
  for (;;) {
    try {
      const serving = await readRevision(baseUrl, { timeoutMs: Math.min(5000, timing.deadlineMs) });
      if (serving === revision) {
        const health = await checkHealth(baseUrl, healthPath, { ...timing, deadlineMs: Math.max(0, deadline - Date.now()) });
        if (health.ok) return;
        last = health.summary;
      } else {
        last = `${baseUrl} serves ${shortSha(serving)}, expected ${whose} ${shortSha(revision)}`;
      }
    } catch (error) {
      last = messageOf(error);
    }
    if (Date.now() + timing.intervalMs > deadline) throw new Error(`${last} (after ${formatSeconds(timing.deadlineMs)})`);
    await (timing.sleep ?? realSleep)(timing.intervalMs);
  }
}
