import t from 'tap';
import { askedWaitMs, rateLimitResetMs, retryAfterMs } from '../../../src/adapters/http/retry-after.js';

t.test('retryAfterMs: seconds or an HTTP date', async (t) => {
  t.equal(retryAfterMs(new Headers({ 'retry-after': '7' }), 0), 7000);
  t.equal(retryAfterMs(new Headers({ 'retry-after': ' 1.5 ' }), 0), 1500);
  t.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 1970 00:00:10 GMT' }), 4000), 6000);
  t.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 1970 00:00:10 GMT' }), 60_000), 0, 'a date in the past: no wait');
  t.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' }), 0), undefined);
  t.equal(retryAfterMs(new Headers(), 0), undefined);
});

t.test('rateLimitResetMs: epoch seconds', async (t) => {
  t.equal(rateLimitResetMs(new Headers({ 'ratelimit-reset': '100' }), 70_000), 30_000);
  t.equal(rateLimitResetMs(new Headers({ 'ratelimit-reset': '100' }), 200_000), 0);
  t.equal(rateLimitResetMs(new Headers({ 'ratelimit-reset': 'later' }), 0), undefined);
  t.equal(rateLimitResetMs(new Headers(), 0), undefined);
});

t.test('askedWaitMs: Retry-After first; ratelimit-reset only for a 429', async (t) => {
  const both = new Headers({ 'retry-after': '2', 'ratelimit-reset': '100' });
  const reset = new Headers({ 'ratelimit-reset': '100' });
  t.equal(askedWaitMs(429, both, 0), 2000);
  t.equal(askedWaitMs(429, reset, 0), 100_000);
  t.equal(askedWaitMs(503, reset, 0), undefined);
  t.equal(askedWaitMs(503, both, 0), 2000);
});
