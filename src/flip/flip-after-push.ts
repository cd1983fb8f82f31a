import type { Provider } from '../adapters/providers/provider.js';
import type { Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import { runFlip } from './run-flip.js';
import { shortSha } from '../core/format.js';

export interface FlipAfterPushOptions {
  config: Config;
  provider: Provider;
  colour: Colour;
  /** The revision the push deployed (main of the colour). */
  revision: string;
  /** The pusher. */
  by: string;
  /** Why: `-o flip`, or BLUEGREEN_AUTO_FLIP. */
  why: 'flip' | 'auto';
  /** To the pusher, as `remote:` lines. */
  say: (line: string) => void;
  /** Server log, for failures that are not the user's to read (an internal error). */
  log: (line: string) => void;
  notify?: (notice: Notice) => void;
}

/**
 * The flip a push asked for, once its deploy stood: the same verification and flip back as `bluegreen flip`,
 * streamed to the pusher. Never throws: the deploy stands whatever the flip does (main names what the colour's
 * hosts serve), so a failed flip is said — what happened, and where production traffic goes now.
 */
export async function flipAfterPush(options: FlipAfterPushOptions): Promise<void> {
  const { colour, say, provider } = options;
  say(
    options.why === 'flip'
      ? `flipping to ${colour} (-o flip)`
      : `flipping to ${colour} (BLUEGREEN_AUTO_FLIP=true; push with -o no-flip to deploy without flipping)`,
  );
  try {
    await runFlip({ config: options.config, provider, target: colour, by: options.by, say, notify: options.notify });
  } catch (error) {
    if (error instanceof UserError) {
      say(`error: ${error.message}`);
      if (error.hint) say(`hint: ${error.hint}`);
    } else {
      say('error: the flip failed because of an internal error (details are in the server log)');
      options.log(`flip to ${colour} after a push by ${options.by} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    const live = await provider.liveColour().then(
      (c) => c ?? 'no colour',
      () => 'unknown (the provider cannot be read now)',
    );
    say(`the push stands: ${colour} serves ${shortSha(options.revision)} (its main); production traffic goes to ${live}`);
  }
}
