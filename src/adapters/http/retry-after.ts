/**
 * How long a server asks us to wait: `Retry-After` (delay-seconds or an HTTP date) and, for a 429,
 * DigitalOcean's `ratelimit-reset` (Unix epoch seconds at which the rate-limit window frees up).
 */

/** `Retry-After` in milliseconds from `now`, if the answer has a readable one. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `ratelimit-reset` (epoch seconds) as milliseconds from `now`, if the answer has a readable one. */
export function rateLimitResetMs(headers: Headers, now: number): number | undefined {
  const value = headers.get('ratelimit-reset')?.trim();
  if (!value || !/^\d+$/.test(value)) return undefined;
  return Math.max(0, Number(value) * 1000 - now);
}

/**
 * The wait an answer asks for: `Retry-After` first; for a 429 without it, `ratelimit-reset` (other answers carry
 * that header too, but there it is the end of the hour-long window, not a reason to wait).
 */
export function askedWaitMs(status: number, headers: Headers, now: number): number | undefined {
  return retryAfterMs(headers, now) ?? (status === 429 ? rateLimitResetMs(headers, now) : undefined);
}
