/**
 * What a push does, across the three git hooks that hand it over (hooks/git-hook.pl, through the engine socket):
 *
 * - pre-receive: the policy on refs and options, then the release is prepared on every host of the colour
 *   under the colour's lock. Nothing is switched yet: git may still refuse the update (a ref it cannot lock,
 *   an atomic push whose other ref fails).
 * - reference-transaction `prepared`: git holds the lock on main and has checked the update, so the hosts
 *   switch now; if they cannot, the hook's refusal makes git drop the update.
 * - reference-transaction `committed`/`aborted`, or git-receive-pack ending without either: the deploy is
 *   recorded as it stood (main moved) or put back (main did not).
 * - post-receive: the lines said while switching, the summary, and the refs stored without a deploy.
 */
import { RevisionReader } from '../adapters/git/revisions.js';
import { processAlive } from '../adapters/process/process-alive.js';
import type { Colour } from '../core/colour.js';
import { messageOf, UserError } from '../core/errors.js';
import type { Notice } from '../core/notification.js';
import { DEPLOY_REF, type PushOption, ZERO_SHA, decidePushFlip, decideRefUpdates } from '../core/ref-policy.js';
import type { DeployEngine } from './deploy-engine.js';
import type { PreparedDeploy } from './prepared-deploy.js';

/** One line of a hook's input: `OLDREV NEWREV REF`. */
export interface RefUpdate {
  oldrev: string;
  newrev: string;
  ref: string;
}

export type HookCall =
  | {
      hook: 'pre-receive';
      updates: RefUpdate[];
      /** `git push -o VALUE` values, in order. */
      pushOptions: string[];
      /**
       * GIT_* variables git needs to read the pushed (still quarantined) objects: GIT_OBJECT_DIRECTORY,
       * GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_QUARANTINE_PATH when set.
       */
      gitEnv: Record<string, string>;
    }
  | { hook: 'reference-transaction'; state: 'prepared' | 'committed' | 'aborted'; updates: RefUpdate[] }
  | { hook: 'post-receive'; updates: RefUpdate[] };

/** A hook's call, as the engine socket hands it over once it knows who pushes. */
export interface PushRequest {
  colour: Colour;
  /** The authenticated user whose push this is. */
  pusher: string;
  /** The bare repository's directory. */
  repoDir: string;
  /** The git-receive-pack the hook runs under: one push. */
  receivePackPid: number;
  call: HookCall;
}

/**
 * Handles one hook call. `say` sends a line to the pusher (`remote: ...`). Resolving lets git go on; rejecting
 * (a UserError for a readable reason) makes the hook fail, so git refuses. `interrupted` aborts when the hook
 * went away (the pusher hung up).
 */
export type PushHandler = (request: PushRequest, say: (line: string) => void, interrupted: AbortSignal) => Promise<void>;

interface PendingPush {
  deploy: PreparedDeploy;
  update: RefUpdate;
  /** Who pushes, and the push options given. */
  pusher: string;
  options: PushOption[];
  /** Lines said while switching (that hook's output does not reach an HTTP pusher), for post-receive. */
  lines: string[];
  repoDir: string;
  watch: NodeJS.Timeout;
  /** Resolves to whether the deploy stood. */
  settling?: Promise<boolean>;
}

/** What follows a push's deploy: the flip it asks for (`-o flip`, BLUEGREEN_AUTO_FLIP), and the notices. */
export interface PushLifecycle {
  /** BLUEGREEN_AUTO_FLIP as configured now. */
  autoFlip(): boolean;
  /** The colour production traffic goes to now. */
  liveColour(): Promise<Colour | undefined>;
  /** Flips to the colour a push deployed, streaming to the pusher; never throws (the deploy stands either way). */
  flip(request: { colour: Colour; revision: string; by: string; why: 'flip' | 'auto'; say: (line: string) => void }): Promise<void>;
  /** Queues a notice; delivered in the background. */
  notify(notice: Notice): void;
}


const GIT_REFUSED = 'git did not take the update of main after the release was prepared (see the push output)';

export interface PushFlow {
  handle: PushHandler;
  /** Ends every push still waiting for git as main says (once git's processes are gone), then resolves. */
  drain(): Promise<void>;
}

export function createPushHandler(
  engine: DeployEngine,
  options: { log: (line: string) => void; watchMs?: number; lifecycle?: PushLifecycle },
): PushFlow {
  const pending = new Map<number, PendingPush>();
  const { lifecycle } = options;
  const notifyDeploy = (colour: Colour, revision: string, by: string, outcome: { ok: boolean; message: string }) =>
    lifecycle?.notify({ event: 'deploy', colour, revision, by, ...outcome });

  /**
   * Ends a push's deploy as main says, once: it stood if the hosts switched and main moved to it. `main` is
   * what git's transaction hook reported; without it (git-receive-pack gone) main is read from the repository.
   */
  function settleByMain(pid: number, repoDir: string, main?: string): Promise<boolean> {
    const push = pending.get(pid);
    if (!push) return Promise.resolve(false);
    push.settling ??= (async () => {
      main ??= await new RevisionReader(repoDir).resolve(DEPLOY_REF);
      const stood = push.deploy.committed && main === push.update.newrev;
      await push.deploy.settle(stood ? { stood: true } : { stood: false, reason: GIT_REFUSED });
      if (!stood) options.log(`push to ${push.deploy.colour}: ${GIT_REFUSED}; ${push.deploy.committed ? 'the hosts were switched back' : 'nothing was switched'}`);
      notifyDeploy(push.deploy.colour, push.update.newrev, push.pusher, stood ? { ok: true, message: push.deploy.summary() } : { ok: false, message: GIT_REFUSED });
      return stood;
    })();
    return push.settling;
  }

  function forget(pid: number): void {
    const push = pending.get(pid);
    if (push) clearInterval(push.watch);
    pending.delete(pid);
  }

  const handle: PushHandler = async (request, say, interrupted) => {
    const { call, receivePackPid: pid } = request;
    if (call.hook === 'pre-receive') {
      const reader = new RevisionReader(request.repoDir, call.gitEnv);
      const branches = call.updates.filter((u) => u.ref.startsWith('refs/heads/') && u.newrev !== ZERO_SHA).map((u) => u.newrev);
      const decision = decideRefUpdates(call.updates, call.pushOptions, await reader.objectTypes(branches));
      if (!decision.deploy) return;
      const revision = decision.deploy.newrev;
      const deploy = await engine
        .prepare({
          colour: request.colour,
          revision,
          by: request.pusher,
          reader,
          say,
          forceLive: decision.options.includes('force-live'),
          forceSchema: decision.options.includes('force-schema'),
          expectedMain: decision.deploy.oldrev,
          signal: interrupted,
        })
        .catch((error: unknown) => {
          notifyDeploy(request.colour, revision, request.pusher, { ok: false, message: messageOf(error) });
          throw error;
        });
      // git-receive-pack ending without the transaction hooks (killed, or it refused the update first) ends the deploy.
      const watch = setInterval(() => {
        if (processAlive(pid)) return;
        settleByMain(pid, request.repoDir)
          .catch((error: Error) => options.log(`push to ${request.colour}: ${error.message}`))
          .finally(() => forget(pid));
      }, options.watchMs ?? 250);
      watch.unref();
      pending.set(pid, { deploy, update: decision.deploy, pusher: request.pusher, options: decision.options, lines: [], repoDir: request.repoDir, watch });
      say(`ready on ${request.colour}; switching as git updates main`);
      return;
    }

    const mainUpdate = call.updates.find((u) => u.ref === DEPLOY_REF);
    const push = pending.get(pid);
    if (call.hook === 'reference-transaction') {
      if (!mainUpdate) return;
      if (call.state !== 'prepared') {
        // git waits for this hook but ignores its answer: settle beside it, post-receive waits for the outcome.
        const main = call.state === 'committed' ? mainUpdate.newrev : mainUpdate.oldrev;
        settleByMain(pid, request.repoDir, main).catch((error: Error) => options.log(`push to ${request.colour}: ${error.message}`));
        return;
      }
      if (!push || push.update.newrev !== mainUpdate.newrev) {
        throw new UserError(`refused: no deploy was prepared for this update of main on ${request.colour}`);
      }
      try {
        await push.deploy.commit((line) => push.lines.push(line));
      } catch (error) {
        forget(pid);
        await push.deploy.settle({ stood: false, reason: messageOf(error) });
        notifyDeploy(request.colour, push.update.newrev, push.pusher, { ok: false, message: messageOf(error) });
        throw error;
      }
      return;
    }

    // post-receive: runs only for the updates git made.
    for (const update of call.updates) if (update.ref !== DEPLOY_REF) say(`stored, not deployed: ${update.ref} (only main deploys)`);
    if (push && mainUpdate) {
      const stood = await settleByMain(pid, request.repoDir);
      forget(pid);
      for (const line of push.lines) say(line);
      say(push.deploy.summary());
      if (stood) await flipIfAsked(request.colour, push, say);
    }
  };

  /** Once the deploy stood: the flip the push asked for, or the lifecycle's (to a colour that was idle). */
  async function flipIfAsked(colour: Colour, push: PendingPush, say: (line: string) => void): Promise<void> {
    if (!lifecycle) return;
    const why = decidePushFlip(push.options, lifecycle.autoFlip());
    if (!why) return;
    if (why === 'auto' && (await lifecycle.liveColour().catch(() => undefined)) === colour) return;
    await lifecycle.flip({ colour, revision: push.update.newrev, by: push.pusher, why, say });
  }

  return {
    handle,
    drain: async () => {
      await Promise.all(
        [...pending.entries()].map(([pid, push]) =>
          settleByMain(pid, push.repoDir)
            .catch((error: Error) => options.log(`push to ${push.deploy.colour}: ${error.message}`))
            .finally(() => forget(pid)),
        ),
      );
    },
  };
}
