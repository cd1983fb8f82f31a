/**
 * Delivers notices to BLUEGREEN_NOTIFY_URLS in the background: each body signed with HMAC-SHA256
 * (BLUEGREEN_NOTIFY_SECRET) in `X-Bluegreen-Signature`, POSTed to every webhook, one notice after another per
 * webhook (in the order the operations ended), retried with backoff (and a server's Retry-After) for up to
 * two minutes from when the notice was made. An operation never waits for it. A notice that cannot be
 * delivered in time is recorded in history as a `notify` entry naming the webhook's host and port only (its path
 * and query often hold a token), and logged the same way.
 */
import { createHmac } from 'node:crypto';
import { describeFetchError } from '../adapters/http/fetch-problem.js';
import { askedWaitMs } from '../adapters/http/retry-after.js';
import { sleepUnlessAborted } from '../adapters/http/sleep.js';
import { appendHistory } from '../adapters/state/history.js';
import { type Notice, SIGNATURE_HEADER, endpointLabel, notificationBody } from '../core/notification.js';

export interface NotifyTiming {
  /** How long after the notice was made its delivery is retried. */
  windowMs: number;
  /** How long one POST may take. */
  requestTimeoutMs: number;
  /** The first pause between attempts; it doubles, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_NOTIFY_TIMING: NotifyTiming = { windowMs: 120_000, requestTimeoutMs: 10_000, firstDelayMs: 1000, maxDelayMs: 30_000 };

export interface NotifierOptions {
  /** The webhooks and the signing secret in force now (a running server re-reads them from `.env`). */
  target: () => { urls: readonly string[]; secret: string | undefined };
  dataDir: string;
  log: (line: string) => void;
  /** Internal (tests): shorter windows and pauses. */
  timing?: Partial<NotifyTiming>;
}

export interface Notifier {
  /** Queues a notice for every webhook; returns at once. */
  notify(notice: Notice): void;
  /**
   * Waits for the deliveries under way, at most `withinMs`; those still undelivered then are given up and
   * recorded as undelivered (a CLI command that ends, a server that stops).
   */
  flush(withinMs: number): Promise<void>;
}

/** `sha256=<hex HMAC-SHA256 of body>`, the value of X-Bluegreen-Signature. */
function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const timing = { ...DEFAULT_NOTIFY_TIMING, ...options.timing };
  /** Per webhook, the end of its queue. */
  const queues = new Map<string, Promise<void>>();
  const under = new Set<Promise<void>>();
  const giveUp = new AbortController();

  async function deliver(url: string, notice: Notice, body: string, secret: string | undefined, deadline: number): Promise<void> {
    let attempts = 0;
    let last = 'not tried: the notices before it took its time';
    for (;;) {
      const left = deadline - Date.now();
      // A retry with too little time left would only end as a timeout (up to a second, or a request's timeout if
      // shorter, is worth trying): the last answer stands.
      if ((attempts > 0 && left < Math.min(timing.requestTimeoutMs, 1000)) || left <= 0 || giveUp.signal.aborted) break;
      attempts += 1;
      let waitMs: number | undefined;
      const timeoutMs = Math.min(timing.requestTimeoutMs, left);
      try {
        const answer = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'bluegreen', ...(secret ? { [SIGNATURE_HEADER]: signBody(secret, body) } : {}) },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), giveUp.signal]),
        });
        await answer.arrayBuffer().catch(() => undefined);
        if (answer.ok) return;
        last = `HTTP ${answer.status}`;
        // Only a server's trouble or a rate limit is worth another try; a refusal stays a refusal.
        if (answer.status < 500 && answer.status !== 429 && answer.status !== 408) break;
        waitMs = askedWaitMs(answer.status, answer.headers, Date.now());
      } catch (error) {
        last = giveUp.signal.aborted ? last : describeFetchError(error, timeoutMs);
      }
      const pause = Math.max(waitMs ?? 0, Math.min(timing.maxDelayMs, timing.firstDelayMs * 2 ** (attempts - 1)));
      if (Date.now() + pause >= deadline) break;
      await sleepUnlessAborted(pause, giveUp.signal);
    }
    const why = giveUp.signal.aborted && Date.now() < deadline ? `${last}; given up when bluegreen stopped waiting` : last;
    const endpoint = endpointLabel(url);
    options.log(`notify: could not deliver the ${notice.event} notice to ${endpoint} (${why}); recorded in history`);
    await appendHistory(options.dataDir, {
      type: 'notify',
      at: new Date().toISOString(),
      event: notice.event,
      colour: notice.colour,
      ok: notice.ok,
      revision: notice.revision,
      endpoint,
      outcome: 'undelivered',
      error: why,
      attempts,
    }).catch((error: Error) => options.log(`notify: could not record an undelivered notice: ${error.message}`));
  }

  return {
    notify(notice) {
      const { urls, secret } = options.target();
      if (urls.length === 0) return;
      const body = notificationBody(notice, new Date());
      const deadline = Date.now() + timing.windowMs;
      for (const url of urls) {
        const next = (queues.get(url) ?? Promise.resolve()).then(() => deliver(url, notice, body, secret, deadline));
        queues.set(url, next);
        under.add(next);
        void next.finally(() => {
          under.delete(next);
          if (queues.get(url) === next) queues.delete(url);
        });
      }
    },
    async flush(withinMs) {
      if (under.size === 0) return;
      const all = Promise.all([...under]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), withinMs)))]);
      clearTimeout(timer);
      if (!timedOut) return;
      giveUp.abort();
      // Every queue now ends at once, recording what it holds.
      await all;
    },
  };
}
