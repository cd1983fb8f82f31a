import { mkdir } from 'node:fs/promises';
import { createProvider } from '../adapters/providers/index.js';
import { startLocalRouter } from '../adapters/providers/local/router.js';
import type { Provider } from '../adapters/providers/provider.js';
import { readHistory } from '../adapters/state/history.js';
import { addUser, createUsersReader, listUsers } from '../adapters/state/users.js';
import { COLOURS, type Colour } from '../core/colour.js';
import { type Config, type HostTarget, hostKey } from '../core/config.js';
import { removePushLeftovers, repoPath } from '../adapters/git/repos.js';
import { createDeployEngine } from '../deploy/deploy-engine.js';
import { reconcileColour } from '../deploy/reconcile.js';
import { createPushHandler } from '../deploy/push-handler.js';
import { createTarget } from '../deploy/create-targets.js';
import { createHostResolver } from '../deploy/resolve-hosts.js';
import type { DeployTarget } from '../deploy/targets/target.js';
import { createFlipRunner } from '../flip/flip-runner.js';
import { createActivity } from '../status/activity.js';
import { readStatus } from '../status/read-status.js';
import { watchLiveConfig } from './config-reload.js';
import { publishingPushes } from './publishing-pushes.js';
import { loadPageAssets } from './web/assets.js';
import { createWebDoor } from './web/web-door.js';
import { type CloseOptions, startGitServer } from './git-server.js';
import { startGitSshServer } from './git-ssh-server.js';
import { type StaticHost, startStaticHost } from './static-host.js';
import { flipAfterPush } from '../flip/flip-after-push.js';
import { type NotifyTiming, createNotifier } from '../notify/notifier.js';

export interface RunningServer {
  gitUrl: string;
  /** The status page, on the git server's address. */
  pageUrl: string;
  /** Git over SSH (unless BLUEGREEN_SSH_LISTEN is off): `ssh://git@host:port` and the host key's fingerprint. */
  ssh: { url: string; fingerprint: string } | undefined;
  hostUrls: Partial<Record<Colour, string>>;
  routerUrl: string | undefined;
  /**
   * Stops accepting pushes, gives those under way up to `graceMs` to finish, then ends the rest and closes
   * everything. Without `graceMs`, pushes under way are ended at once and the work after pushes is awaited.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface ServeOptions {
  /** Base environment (without .env) and working directory, for re-reading `.env` when it changes. */
  baseEnv: NodeJS.ProcessEnv;
  cwd: string;
  log: (line: string) => void;
  /** Internal (tests): the notifier's retry window and pauses. */
  notifyTiming?: Partial<NotifyTiming>;
}

/** A loopback http URL a `file://` host can be served on from this process. */
function localListen(host: HostTarget): { host: string; port: number } | undefined {
  if (host.kind !== 'file') return undefined;
  const url = new URL(host.url);
  if (url.protocol !== 'http:' || !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) return undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
}

/**
 * Runs the git server and the deploy engine: warm transports per host, `file://` hosts served over HTTP,
 * and the local router when the `local` provider is in use. `.env` changes apply without a restart, except
 * those to where deploys and traffic go (see config-reload.ts).
 */
export async function startServer(initial: Config, options: ServeOptions): Promise<RunningServer> {
  let config = initial;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  // A colour's hosts are looked up at every deploy (found by tag or scale set, autoscaling adds and removes
  // them). One target per host, kept across lookups with its warm connection; a host that went away is closed
  // once its work is done. Created on first use (an unreadable key fails that push, and the next tries again).
  let lookUpHosts = createHostResolver(config);
  const warm = new Map<Colour, Map<string, DeployTarget>>();
  const retiring = new Set<Promise<void>>();
  const retire = (target: DeployTarget) => {
    const done: Promise<void> = target
      .idle()
      .then(() => target.close())
      .catch(() => {})
      .finally(() => retiring.delete(done));
    retiring.add(done);
  };
  const lookUpTargets = async (colour: Colour): Promise<DeployTarget[]> => {
    const hosts = await lookUpHosts(colour);
    const before = warm.get(colour) ?? new Map<string, DeployTarget>();
    const now = new Map<string, DeployTarget>();
    for (const host of hosts) {
      const key = hostKey(host);
      now.set(key, now.get(key) ?? before.get(key) ?? createTarget(config, host, colour));
    }
    warm.set(colour, now);
    for (const [key, target] of before) if (!now.has(key)) retire(target);
    return [...now.values()];
  };
  // One lookup per colour at a time, so two never make targets for the same host.
  const lookups = new Map<Colour, Promise<DeployTarget[]>>();
  const targetsFor = (colour: Colour): Promise<DeployTarget[]> => {
    const next = (lookups.get(colour) ?? Promise.resolve([])).catch(() => []).then(() => lookUpTargets(colour));
    lookups.set(colour, next);
    return next;
  };
  const closeTargets = async () => {
    for (const targets of warm.values()) for (const target of targets.values()) await target.close().catch(() => {});
    warm.clear();
    await Promise.all(retiring);
  };
  let provider: Provider = createProvider(config);

  // What is started, in order; on a failure to start, all of it is closed again, so the process can exit.
  const started: Array<() => Promise<void>> = [async () => provider.close()];
  const closeStarted = async () => {
    for (const close of started.reverse()) await close().catch(() => {});
  };
  try {
    const staticHosts: StaticHost[] = [];
    // Each host's address: a file:// host served from this process at the port it really got.
    const upstreams: Record<Colour, string[]> = { blue: [], green: [] };
    for (const colour of COLOURS) {
      for (const target of config.hosts[colour]) {
        const listen = localListen(target);
        if (!listen) {
          upstreams[colour].push(target.url);
          continue;
        }
        const host = await startStaticHost(target.appRoot, listen, colour);
        started.push(() => host.close());
        staticHosts.push(host);
        upstreams[colour].push(host.url);
      }
    }
    const hostUrls: Partial<Record<Colour, string>> = {};
    for (const colour of COLOURS) {
      const first = config.hosts[colour][0];
      if (first && localListen(first)) hostUrls[colour] = upstreams[colour][0];
    }
    const router =
      config.provider.kind === 'local'
        ? await startLocalRouter({
            listen: config.provider.listen,
            // The hosts served from this process, at the ports they really got.
            upstreams,
            dataDir: config.dataDir,
            log: options.log,
          })
        : undefined;
    if (router) started.push(() => router.close());
    started.push(() => closeTargets());

    // A server killed mid-push leaves quarantined objects, and may leave a colour's hosts ahead of its main.
    const leftovers = removePushLeftovers(config.dataDir);
    if (leftovers.length > 0) options.log(`removed ${leftovers.length} leftover${leftovers.length === 1 ? '' : 's'} of interrupted pushes from the repositories`);
    // In the background: a host that does not answer must not hold up the start (a push waits for the lock).
    const reconciled = Promise.all(
      COLOURS.map(async (colour) =>
        reconcileColour({
          colour,
          dataDir: config.dataDir,
          repoDir: repoPath(config.dataDir, colour),
          targets: await targetsFor(colour),
          parallel: config.parallel,
          lockWaitMs: config.lockWaitMs,
          log: options.log,
        }).catch((error: unknown) => options.log(`reconcile ${colour}: ${error instanceof Error ? error.message : String(error)}`)),
      ),
    );
    started.push(async () => void (await reconciled));

    const engine = createDeployEngine({
      config: () => config,
      targets: targetsFor,
      liveColour: () => provider.liveColour(),
      log: options.log,
    });
    // Notices go out in the background; on stopping, what is still undelivered is recorded in history.
    const notifier = createNotifier({ target: () => config.notify, dataDir: config.dataDir, log: options.log, timing: options.notifyTiming });
    started.push(() => notifier.flush(0));
    const pushes = createPushHandler(engine, {
      log: options.log,
      lifecycle: {
        autoFlip: () => config.autoFlip,
        liveColour: () => provider.liveColour(),
        flip: (request) => flipAfterPush({ ...request, config, provider, log: options.log, notify: notifier.notify }),
        notify: notifier.notify,
      },
    });
    const activity = createActivity();
    const flips = createFlipRunner({ config: () => config, provider: () => provider, activity, notify: notifier.notify });
    const web = createWebDoor({
      // A users file that cannot be used is reported by the git door's reader; the last good users stay in force here too.
      users: createUsersReader(config.dataDir, () => {}),
      status: () => readStatus(config, provider),
      history: () => readHistory(config.dataDir),
      flips,
      activity,
      assets: loadPageAssets(),
      secure: config.tls !== undefined,
      log: options.log,
    });
    const handler = publishingPushes(pushes.handle, activity);
    const git = await startGitServer({ config, handler, log: options.log, web });
    started.push(() => git.close());
    const ssh = config.sshListen
      ? await startGitSshServer({ config, listen: config.sshListen, log: options.log, trackPusher: git.trackPusher })
      : undefined;

    const watcher = watchLiveConfig({
      baseEnv: options.baseEnv,
      cwd: options.cwd,
      log: options.log,
      current: () => config,
      apply: async (next, change) => {
        config = next;
        if (change.reconnectHosts) await closeTargets();
        if (change.recreateProvider) {
          await provider.close();
          provider = createProvider(next);
          lookUpHosts = createHostResolver(next);
        }
      },
    });

    return {
      gitUrl: git.url,
      pageUrl: `${git.url}/`,
      ssh: ssh && { url: ssh.url, fingerprint: ssh.fingerprint },
      hostUrls,
      routerUrl: router?.url,
      close: async (closeOptions = {}) => {
        const { graceMs, hurry } = closeOptions;
        const deadline = Date.now() + (graceMs ?? 0);
        await watcher.close();
        web.close();
        // Both doors stop taking requests at once; the engine socket (closed with the HTTP door) serves both.
        await git.close(closeOptions, ssh?.close(closeOptions));
        // git's processes are gone: a push still between its hooks is put back (or recorded) as main says.
        await pushes.drain();
        // Work after a push (preparing the next copy, pruning): awaited, or for what is left of the grace period.
        if (graceMs === undefined) await engine.idle();
        else if (deadline > Date.now() && !hurry?.aborted) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            engine.idle(),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, deadline - Date.now());
              hurry?.addEventListener('abort', () => resolve(), { once: true });
            }),
          ]);
          clearTimeout(timer);
        }
        await reconciled;
        // A flip from the status page is moving traffic: it ends (or flips back) before the provider closes.
        await flips.idle();
        // Notices still being retried: what is left of the grace period (at least a second), then recorded as undelivered.
        await notifier.flush(graceMs === undefined || hurry?.aborted ? 0 : Math.max(1000, deadline - Date.now()));
        await router?.close();
        await Promise.all(staticHosts.map((h) => h.close()));
        await provider.close();
        await closeTargets();
      },
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}

/** In the embedded default a first user is created, an operator, so the newcomer can push and flip (also from the page) at once. */
export async function ensureFirstUser(config: Config): Promise<{ name: string; token: string } | undefined> {
  if (listUsers(config.dataDir).length > 0) return undefined;
  return { name: 'admin', token: await addUser(config.dataDir, 'admin', { role: 'operator' }) };
}
