import { mkdir } from 'node:fs/promises';
import { createProvider } from '../adapters/providers/index.js';
import { startLocalRouter } from '../adapters/providers/local-router.js';
import type { Provider } from '../adapters/providers/provider.js';
import { addUser, listUsers } from '../adapters/state/users.js';
import { createTransport } from '../adapters/transport/create-transport.js';
import type { Transport } from '../adapters/transport/transport.js';
import { COLOURS, type Colour } from '../core/colour.js';
import type { Config, HostTarget } from '../core/config.js';
import { createDeployEngine } from '../deploy/deploy-engine.js';
import { watchLiveConfig } from './config-reload.js';
import { startGitServer } from './git-server.js';
import { type StaticHost, startStaticHost } from './static-host.js';

export interface RunningServer {
  gitUrl: string;
  hostUrls: Partial<Record<Colour, string>>;
  routerUrl: string | undefined;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Base environment (without .env) and working directory, for re-reading `.env` when it changes. */
  baseEnv: NodeJS.ProcessEnv;
  cwd: string;
  log: (line: string) => void;
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

  const transports = new Map<Colour, Transport>();
  // Created on first use (an unreadable key fails that push, and the next push tries again).
  const transportFor = (colour: Colour): Transport => {
    let transport = transports.get(colour);
    if (!transport) {
      transport = createTransport(config.hosts[colour], config);
      transports.set(colour, transport);
    }
    return transport;
  };
  let provider: Provider = createProvider(config);

  const staticHosts: StaticHost[] = [];
  const hostUrls: Partial<Record<Colour, string>> = {};
  for (const colour of COLOURS) {
    const listen = localListen(config.hosts[colour]);
    if (!listen) continue;
    const host = await startStaticHost(config.hosts[colour].appRoot, listen, colour);
    staticHosts.push(host);
    hostUrls[colour] = host.url;
  }
  const router =
    config.provider.kind === 'local'
      ? await startLocalRouter({
          listen: config.provider.listen,
          // The hosts served from this process, at the ports they really got.
          upstreams: { blue: hostUrls.blue ?? config.hosts.blue.url, green: hostUrls.green ?? config.hosts.green.url },
          dataDir: config.dataDir,
          log: options.log,
        })
      : undefined;

  const engine = createDeployEngine({
    config: () => config,
    transport: transportFor,
    liveColour: () => provider.liveColour(),
    log: options.log,
  });
  const git = await startGitServer({ config, handler: engine.handler, log: options.log });

  const watcher = watchLiveConfig({
    baseEnv: options.baseEnv,
    cwd: options.cwd,
    log: options.log,
    current: () => config,
    apply: async (next, change) => {
      if (change.reconnectHosts) {
        for (const [colour, old] of transports) {
          transports.delete(colour);
          old.close().catch(() => {});
        }
      }
      if (change.recreateProvider) {
        await provider.close();
        provider = createProvider(next);
      }
      config = next;
    },
  });

  return {
    gitUrl: git.url,
    hostUrls,
    routerUrl: router?.url,
    close: async () => {
      await watcher.close();
      await git.close();
      await engine.idle();
      await router?.close();
      await Promise.all(staticHosts.map((h) => h.close()));
      await provider.close();
      for (const transport of transports.values()) await transport.close().catch(() => {});
    },
  };
}

/** In the embedded default a first user is created, so the newcomer can push at once. */
export async function ensureFirstUser(config: Config): Promise<{ name: string; token: string } | undefined> {
  if (listUsers(config.dataDir).length > 0) return undefined;
  return { name: 'admin', token: await addUser(config.dataDir, 'admin') };
}
