import type { Config } from '../core/config.js';
import type { Notice } from '../core/notification.js';
import { createNotifier } from '../notify/notifier.js';
import type { Output } from './output.js';

/**
 * How long a command (flip, rollback, sync, activate, deploy) waits after its work for its notices to reach
 * BLUEGREEN_NOTIFY_URLS. What is not delivered by then is recorded in history as undelivered: the server retries
 * for two minutes, but a command does not hold the terminal (or a CI job) that long for a webhook.
 */
const CLI_NOTIFY_WAIT_MS = 10_000;

/** Runs a command's work with a way to notify; then waits (bounded) for the notices to be delivered. */
export async function withNotices<T>(config: Config, output: Output, work: (notify: (notice: Notice) => void) => Promise<T>): Promise<T> {
  const notifier = createNotifier({ target: () => config.notify, dataDir: config.dataDir, log: (line) => output.err(line) });
  try {
    return await work(notifier.notify);
  } finally {
    await notifier.flush(CLI_NOTIFY_WAIT_MS);
  }
}
