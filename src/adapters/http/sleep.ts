/** The one real-time sleep; code that waits takes a `sleep` option defaulting to this, so tests can inject a virtual clock. */
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `done()` holds, or after `ms`, or once `signal` aborts, whichever comes first (asks every `pollMs`). */
export async function waitUntil(done: () => boolean, ms: number, signal?: AbortSignal, pollMs = 25): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline && !signal?.aborted) await sleep(pollMs);
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer is then cleared, so it keeps no process alive. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
