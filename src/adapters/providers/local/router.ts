/**
 * The `local` provider: a small HTTP reverse proxy (http-proxy-3) in front of the two colours' own URLs.
 *
 * How the router (inside `bluegreen serve`) and the provider (inside `bluegreen flip`, another process) cooperate:
 * - The live colour is kept in `$DATA/router.json` (`{"live":"green","changedAt":…}`), written atomically
 *   (temp file + rename). The provider writes it; the router stats it on every request and re-reads it when
 *   it changed (inode, size, mtime, ctime), so the switch is atomic per request: each request is proxied to the
 *   colour read when it arrived, and in-flight requests finish on the upstream they started on.
 * - The router answers `GET /.bluegreen/router` itself (never proxied) with `{live, stateFile}`.
 *   `moveTraffic` first asks that endpoint (refusing if the router there reads another state file), writes
 *   the file, then polls the endpoint until the router reports the new colour.
 * - If no router answers (connection refused: `serve` is not running), `moveTraffic` records the colour in
 *   the file, says so, and resolves: the router will route there as soon as it starts.
 * - `liveColour` asks the running router, or reads the file when none answers.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ProxyServer } from 'http-proxy-3';
import { type Colour, isColour } from '../../../core/colour.js';
import type { Listen } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import { describeFetchError } from '../../http/fetch-problem.js';
import { listenOn } from '../../http/listen.js';
import { sleep as realSleep } from '../../http/sleep.js';
import type { Provider, ProviderOptions } from '../provider.js';
import { writeFileAtomic } from '../../state/atomic-file.js';

/** The router's own status endpoint, answered by the router and never proxied. */
export const ROUTER_STATUS_PATH = '/.bluegreen/router';
/** The one-line answer while no colour has been made live. */
export const NOT_LIVE_MESSAGE = 'no colour is live yet: run bluegreen flip blue';

/** What `router.json` holds. */
export interface RouterState {
  live: Colour;
  changedAt: string;
}

/** `$DATA/router.json` */
export function routerStateFile(dataDir: string): string {
  return path.join(dataDir, 'router.json');
}

/** The recorded live colour, or undefined when none was ever recorded. Throws a UserError if the file is unreadable. */
export async function readRouterState(stateFile: string): Promise<RouterState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read the router state ${stateFile}: ${(error as Error).message}`);
  }
  try {
    const state = JSON.parse(text) as RouterState;
    if (typeof state.live === 'string' && isColour(state.live)) return state;
  } catch {
    // fall through
  }
  throw new UserError(`the router state ${stateFile} is not valid: expected {"live": "blue" | "green"}`, {
    hint: `delete it, or run \`bluegreen flip blue\` to write it again`,
  });
}

/** Records `live` atomically (temp file + rename in the same directory). */
export async function writeRouterState(stateFile: string, live: Colour, now = new Date()): Promise<void> {
  await mkdir(path.dirname(stateFile), { recursive: true });
  const state: RouterState = { live, changedAt: now.toISOString() };
  writeFileAtomic(stateFile, `${JSON.stringify(state)}\n`, 0o644);
}

/** A running router. */
export interface LocalRouter {
  /** e.g. `http://127.0.0.1:8080` (the real port when `listen.port` was 0). */
  url: string;
  close(): Promise<void>;
}

export interface LocalRouterOptions {
  listen: Listen;
  /** Each colour's hosts' own HTTP addresses, e.g. `http://127.0.0.1:8001/`; requests take turns among them. */
  upstreams: Record<Colour, readonly string[]>;
  /** Where the live colour is kept; defaults to `routerStateFile(dataDir)`. One of the two is required. */
  stateFile?: string;
  dataDir?: string;
  /** Told about state files that cannot be read (the last good colour stays in force). */
  log?: (line: string) => void;
}

function stateFileOf(options: { stateFile?: string; dataDir?: string }): string {
  if (options.stateFile) return options.stateFile;
  if (options.dataDir) return routerStateFile(options.dataDir);
  throw new Error('local router: stateFile or dataDir is required');
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the router on `listen`, proxying each request to the upstream of the colour live when it arrives. */
export async function startLocalRouter(options: LocalRouterOptions): Promise<LocalRouter> {
  const stateFile = stateFileOf(options);
  const log = options.log ?? (() => undefined);
  let live: Colour | undefined;
  let seen = '';
  let refreshing: Promise<void> | undefined;

  /** Re-reads the state file if it changed since last time; keeps the last good colour on a bad file. */
  const refresh = (): Promise<void> => {
    refreshing ??= (async () => {
      try {
        const s = await stat(stateFile, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        const key = s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : 'absent';
        if (key === seen) return;
        const state = await readRouterState(stateFile);
        seen = key;
        if (state?.live !== live && state) log(`router: now routing to ${state.live} (${options.upstreams[state.live].join(', ')})`);
        if (state) live = state.live;
      } catch (error) {
        log(`router: ${(error as Error).message}; still routing to ${live ?? 'nothing'}`);
      }
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const proxy = new ProxyServer({ xfwd: true });
  // Round robin over the live colour's hosts.
  let turn = 0;
  const server = http.createServer((req, res) => {
    void refresh().then(() => {
      const colour = live;
      if (req.url === ROUTER_STATUS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ live: colour ?? null, stateFile, pid: process.pid }));
        return;
      }
      if (!colour) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
        res.end(`${NOT_LIVE_MESSAGE}\n`);
        return;
      }
      const hosts = options.upstreams[colour];
      const target = hosts[turn++ % hosts.length] ?? '';
      proxy.web(req, res, { target }, (error) => {
        if (!res.headersSent) {
          const code = (error as NodeJS.ErrnoException).code ?? error.message;
          res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`bad gateway: ${colour} (${target}) did not answer: ${code}\n`);
        } else {
          res.destroy();
        }
      });
    });
  });
  await refresh();
  await listenOn(server, options.listen, { variable: 'BLUEGREEN_ROUTER_LISTEN', form: 'host:port' });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostForUrl(options.listen.host)}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setImmediate(() => server.closeAllConnections());
      }),
  };
}

export interface LocalProviderOptions extends ProviderOptions {
  /** The router's address (`BLUEGREEN_ROUTER_LISTEN`). */
  listen: Listen;
  /** Where the live colour is kept; defaults to `routerStateFile(dataDir)`. One of the two is required. */
  stateFile?: string;
  dataDir?: string;
}

type RouterAnswer = { running: false } | { running: true; live: Colour | undefined; stateFile: string };

/** The provider `bluegreen flip` uses: writes the state file, then waits until the running router reports the switch. */
export function createLocalProvider(options: LocalProviderOptions): Provider {
  const stateFile = path.resolve(stateFileOf(options));
  const routerUrl = `http://${hostForUrl(options.listen.host)}:${options.listen.port}`;
  const statusUrl = `${routerUrl}${ROUTER_STATUS_PATH}`;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const description = `local router at ${routerUrl}`;

  /** Asks the router what it routes to; `running: false` when nothing listens there. */
  async function ask(): Promise<RouterAnswer> {
    let response: Response;
    try {
      response = await fetch(statusUrl, { signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED') return { running: false };
      throw new UserError(`the ${description} did not answer: ${describeFetchError(error, requestTimeoutMs)}`, {
        hint: 'check BLUEGREEN_ROUTER_LISTEN and that `bluegreen serve` is healthy',
      });
    }
    const body = (await response.json().catch(() => undefined)) as { live?: unknown; stateFile?: unknown } | undefined;
    if (!response.ok || !body || typeof body.stateFile !== 'string') {
      throw new UserError(`something other than the bluegreen router answers at ${routerUrl} (HTTP ${response.status} for ${ROUTER_STATUS_PATH})`, {
        hint: 'set BLUEGREEN_ROUTER_LISTEN to the address `bluegreen serve` printed for its router',
      });
    }
    if (path.resolve(body.stateFile) !== stateFile) {
      throw new UserError(`the router at ${routerUrl} follows ${body.stateFile}, not ${stateFile}`, {
        hint: 'another `bluegreen serve` with a different BLUEGREEN_DATA_DIR owns that address; run flip with the same .env as serve',
      });
    }
    return { running: true, live: typeof body.live === 'string' && isColour(body.live) ? body.live : undefined, stateFile: body.stateFile };
  }

  return {
    description,

    async liveColour() {
      const answer = await ask();
      return answer.running ? answer.live : (await readRouterState(stateFile))?.live;
    },

    async moveTraffic(colour, say) {
      const before = await ask();
      if (before.running && before.live === colour) {
        say(`${description} already routes to ${colour}`);
        return;
      }
      await writeRouterState(stateFile, colour);
      if (!before.running) {
        say(`no router is answering at ${routerUrl}; recorded ${colour} in ${stateFile}: the router will route there when \`bluegreen serve\` starts`);
        return;
      }
      say(`${description}: switching from ${before.live ?? 'nothing'} to ${colour}`);
      const started = now();
      for (;;) {
        const answer = await ask();
        if (answer.running && answer.live === colour) break;
        if (!answer.running) {
          say(`the router at ${routerUrl} stopped; ${colour} is recorded in ${stateFile}`);
          return;
        }
        if (now() - started + pollIntervalMs > deadlineMs) {
          throw new UserError(
            `the ${description} still routes to ${answer.live ?? 'nothing'} ${Math.round((now() - started) / 1000)} s after ${colour} was recorded in ${stateFile}`,
            { hint: 'check the `bluegreen serve` log for router messages (is the state file readable?)' },
          );
        }
        await sleep(pollIntervalMs);
      }
      say(`${description} now routes to ${colour}`);
    },

    async close() {},
  };
}
