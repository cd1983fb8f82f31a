/** A virtual clock for tests: `sleep` advances `now` at once (after yielding), and records what was asked for. */
export interface VirtualClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Every sleep asked for, in order. */
  slept: number[];
  advance: (ms: number) => void;
  /** Called after each sleep with the number of sleeps so far: lets a test change the world at a point in time. */
  onSleep?: (count: number) => void;
}

export function virtualClock(start = Date.parse('2026-11-23T10:00:00Z')): VirtualClock {
  let time = start;
  const slept: number[] = [];
  const clock: VirtualClock = {
    now: () => time,
    slept,
    advance: (ms) => {
      time += ms;
    },
    sleep: async (ms) => {
      slept.push(ms);
      time += ms;
      await new Promise((resolve) => setImmediate(resolve));
      clock.onSleep?.(slept.length);
    },
  };
  return clock;
}
