/**
 * Flips and rollbacks asked for through the status page's API: one at a time per server, decided before the
 * answer (a refusal is the answer), then run in the background, their lines published as activity.
 */
import type { Provider } from '../adapters/providers/provider.js';
import type { Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { messageOf, UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import type { Activity } from '../status/activity.js';
import { readRollbackTarget } from './rollback-target.js';
import { runFlip } from './run-flip.js';

export type FlipRequest = { operation: 'flip'; colour: Colour; dryRun?: boolean } | { operation: 'rollback'; dryRun?: boolean };

export interface FlipStarted {
  operation: 'flip' | 'rollback';
  colour: Colour;
  /** What will happen (or, for a dry run, what would), one step a line. */
  plan: string[];
}

export interface FlipRunner {
  /**
   * Plans the flip and, unless it is a dry run, starts it: resolves once it is under way; rejects with a
   * UserError when it is refused (nothing moved then).
   */
  start(request: FlipRequest, by: string): Promise<FlipStarted>;
  /** Resolves once no flip runs. */
  idle(): Promise<void>;
}

export interface FlipRunnerDeps {
  config: () => Config;
  provider: () => Provider;
  activity: Activity;
  /** Where a flip's notices go (BLUEGREEN_NOTIFY_URLS). */
  notify?: (notice: Notice) => void;
}

export function createFlipRunner(deps: FlipRunnerDeps): FlipRunner {
  let running: Promise<unknown> | undefined;
  return {
    async start(request, by) {
      const config = deps.config();
      const colour = request.operation === 'flip' ? request.colour : await readRollbackTarget(config.dataDir);
      const base = { config, provider: deps.provider(), target: colour, by, event: request.operation, notify: deps.notify };
      if (request.dryRun) {
        const plan: string[] = [];
        await runFlip({ ...base, dryRun: true, say: (line) => plan.push(line) });
        return { operation: request.operation, colour, plan: plan.filter((line) => !line.startsWith('dry run:')) };
      }
      if (running) {
        throw new UserError('refused: a flip from the status page is running already', { hint: 'wait for it to end (its progress is on the page)' });
      }
      const { operation } = request;
      const { activity } = deps;
      const say = (line: string) => activity.progress(operation, colour, by, line);
      let accepted!: (plan: string[]) => void;
      const planned = new Promise<string[]>((resolve) => (accepted = resolve));
      let begun = false;
      const flip = runFlip({
        ...base,
        say,
        // Called with the plan once the flip is decided, before anything moves: the moment to answer.
        confirm: async (plan) => {
          begun = true;
          activity.start(operation, colour, by);
          if (operation === 'rollback') say(`rolling back to ${colour}`);
          for (const line of plan) say(line);
          accepted(plan);
          return true;
        },
      });
      running = flip
        .then(
          () => activity.done(operation, colour, by, true, ''),
          (error: unknown) => {
            if (!begun) return;
            const { message, hint } = error instanceof UserError ? error : { message: messageOf(error), hint: undefined };
            activity.done(operation, colour, by, false, hint ? `${message} (${hint})` : message);
          },
        )
        .finally(() => {
          running = undefined;
          activity.changed();
        });
      // Refused before the plan was confirmed: the refusal is the answer.
      const plan = await Promise.race([planned, flip.then(() => planned)]);
      return { operation, colour, plan };
    },
    idle: async () => void (await running),
  };
}
