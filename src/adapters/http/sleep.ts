/** The one real-time sleep; code that waits takes a `sleep` option defaulting to this, so tests can inject a virtual clock. */
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));
