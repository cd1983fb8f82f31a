/** The one real-time sleep; code that waits takes a `sleep` option defaulting to this, so tests can inject a virtual clock. */
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `done()` holds, or after `ms`, or once `signal` aborts, whichever comes first (asks every `pollMs`). */
export async function waitUntil(done: () => boolean, ms: number, signal?: AbortSignal, pollMs = 25): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline && !signal?.aborted) await sleep(pollMs);
}
