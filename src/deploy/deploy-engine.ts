import { RevisionReader } from '../adapters/git/revisions.js';
import { appendHistory } from '../adapters/state/history.js';
import { acquireLock } from '../adapters/state/locks.js';
import type { Transport } from '../adapters/transport/transport.js';
import { type Colour, otherColour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { DEPLOY_REF, ZERO_SHA, decideRefUpdates } from '../core/ref-policy.js';
import type { ReceiveHandler } from '../server/receive.js';
import { runDeploy } from './run-deploy.js';

export interface ReceiveHandlerDeps {
  /** The configuration in force now (it can change while the server runs). */
  config: () => Config;
  /** The warm transport of a colour's host. */
  transport: (colour: Colour) => Transport;
  /** The colour production traffic goes to, or undefined when none is live yet. */
  liveColour: () => Promise<Colour | undefined>;
  /** Where failures of work done after a push is answered are reported. */
  log: (line: string) => void;
}

export interface DeployEngine {
  handler: ReceiveHandler;
  /** Resolves once the work that runs after pushes (preparing copies, pruning) is done. */
  idle(): Promise<void>;
}

/** What happens when someone pushes: policy on refs, then one deploy per colour at a time. */
export function createDeployEngine(deps: ReceiveHandlerDeps): DeployEngine {
  // Per colour, after the last deploy: preparing the next copy (the next deploy waits for it), then pruning.
  const preparing = new Map<Colour, Promise<void>>();
  const pruning = new Map<Colour, Promise<void>>();
  const handler: ReceiveHandler = async (request, say, interrupted) => {
    const decision = decideRefUpdates(request.updates);
    for (const ref of decision.stored) say(`stored, not deployed: ${ref} (only main deploys)`);
    const deploy = decision.deploy;
    if (!deploy) return;

    const { colour, pusher } = request;
    const config = deps.config();
    const lock = await acquireLock(
      config.dataDir,
      colour,
      { holder: pusher, purpose: 'deploy' },
      {
        waitMs: config.lockWaitMs,
        onWait: (holder) => say(`waiting: ${colour} is busy with a ${holder.purpose} by ${holder.holder} since ${holder.since}`),
      },
    );
    await preparing.get(colour);
    const started = Date.now();
    const host = config.hosts[colour];
    const reader = new RevisionReader(request.repoDir, request.gitEnv);
    try {
      // Both checks under the lock: a flip or another deploy may have run while this push waited.
      const [live, mainNow] = await Promise.all([deps.liveColour(), reader.resolve(DEPLOY_REF).then((sha) => sha ?? ZERO_SHA)]);
      if (live === colour && !request.pushOptions.includes('force-live')) {
        throw new UserError(`refused: ${colour} is live, it serves production traffic`, {
          hint: `push to ${otherColour(colour)} and flip, or deploy to the live colour anyway with \`git push -o force-live\``,
        });
      }
      if (live === colour) say(`force-live: deploying to ${colour}, which serves production traffic`);
      // git updates the ref only if it still holds what the pusher saw; a push that waited for another
      // deploy would otherwise deploy and then fail to move main.
      if (mainNow !== deploy.oldrev) {
        throw new UserError(`refused: main on ${colour} moved to ${mainNow.slice(0, 12)} while this push waited; nothing was deployed`, {
          hint: `fetch ${colour} and push again (or push -f to replace it)`,
        });
      }
      const result = await runDeploy({
        colour,
        revision: deploy.newrev,
        appRoot: host.appRoot,
        keepReleases: config.keepReleases,
        transport: deps.transport(colour),
        reader,
        say,
        interrupted,
      });
      await appendHistory(config.dataDir, {
        type: 'deploy',
        at: new Date().toISOString(),
        colour,
        revision: deploy.newrev,
        release: result.plan.release,
        by: pusher,
        outcome: 'deployed',
        durationMs: result.durationMs,
        files: result.plan.counts,
        bytesSent: result.bytesSent,
      });
      const report = (error: unknown) => deps.log(`after the deploy to ${colour}: ${(error as Error).message}`);
      const prepared = result.prepareNext().catch(report);
      preparing.set(colour, prepared);
      pruning.set(colour, Promise.all([prepared, pruning.get(colour)]).then(() => result.deletePruned().catch(report)));
    } catch (caught) {
      // Once the hook is gone git discards the pushed objects, so later steps fail for that reason.
      const error: unknown = interrupted.aborted ? interrupted.reason : caught;
      await appendHistory(config.dataDir, {
        type: 'deploy',
        at: new Date().toISOString(),
        colour,
        revision: deploy.newrev,
        release: '',
        by: pusher,
        outcome: 'failed',
        error: (error as Error).message,
        durationMs: Date.now() - started,
      });
      throw error;
    } finally {
      await lock.release();
    }
  };
  return { handler, idle: async () => void (await Promise.all([...preparing.values(), ...pruning.values()])) };
}
