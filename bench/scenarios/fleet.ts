/**
 * A colour of 1, 2, 4 and 8 loopback OpenSSH hosts: a full deploy and a spaced one-file push to each size,
 * through one `bluegreen serve` per size (its own data dir, app roots and warm connections), taking turns
 * run by run so drift on the machine hits every size alike. Before each push every host of the fleet is
 * quiet, so no size's work after a deploy runs under another's push.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Bench, type Server, type Teardown, emptyDir, ownedDir, startFleet, startServer } from '../env.js';
import { HostSessions } from '../host-sessions.js';
import { type SiteSpec, makeSite } from '../site.js';
import { type Timing, pushOurs } from '../tools.js';
import { type MethodResult, SpacedPushes, collect } from './deploys.js';

export interface FleetContext {
  bench: Bench;
  t: Teardown;
  /** Timed full deploys per size (after one untimed). */
  fullRuns: number;
  /** Timed one-file pushes per size (after four untimed). */
  runs: number;
  spacingMs: number;
  log: (line: string) => void;
}

/** Results by number of hosts. */
export interface FleetResult {
  sizes: number[];
  full: Record<number, MethodResult>;
  onefile: Record<number, MethodResult>;
}

/** Blue as a colour of `size` hosts, with its own server. */
interface BlueOf {
  size: number;
  server: Server;
  appRoots: string[];
  pushes: SpacedPushes;
  full: Timing[];
  onefile: Timing[];
}

export async function fleetScaling(ctx: FleetContext, spec: SiteSpec, sizes: readonly number[] = [1, 2, 4, 8]): Promise<FleetResult> {
  const { bench, t, log } = ctx;
  const fleet = await startFleet(bench, t, Math.max(...sizes));
  const everyHost = new HostSessions(fleet.hosts);
  const user = { uid: bench.uid, gid: bench.gid };
  const root = mkdtempSync(path.join('/tmp', 'bluegreen-bench-fleet-'));
  chmodSync(root, 0o755);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const colours: BlueOf[] = [];
  for (const size of sizes) {
    const hosts = fleet.hosts.slice(0, size);
    const appRoots = hosts.map((_, i) => ownedDir(root, `${size}-hosts/blue-${i + 1}`, user));
    const url = (host: { host: string; port: number }, dir: string) => `ssh://${bench.user}@${host.host}:${host.port}${encodeURI(dir)}`;
    const env = {
      ...bench.hosts.env,
      BLUEGREEN_DATA_DIR: path.join(root, `${size}-hosts`, 'data'),
      BLUEGREEN_KNOWN_HOSTS: fleet.knownHostsPath,
      BLUE_HOST: hosts.map((host, i) => url(host, appRoots[i] as string)).join(','),
      GREEN_HOST: url(bench.hosts.green, ownedDir(root, `${size}-hosts/green`, user)),
    };
    const server = await startServer(bench.hosts.dir, env, t);
    colours.push({ size, server, appRoots, pushes: new SpacedPushes(new HostSessions(hosts), ctx.spacingMs), full: [], onefile: [] });
  }
  const site = makeSite(spec, 'fleet');
  await everyHost.quiet(); // the servers' reconciling at start
  const reset = async (colour: BlueOf) => {
    await colour.server.resetRepo('blue');
    for (const dir of colour.appRoots) await emptyDir(dir);
  };
  try {
    for (let i = -1; i < ctx.fullRuns; i++) {
      for (const colour of colours) {
        await reset(colour);
        const timing = await colour.pushes.push(() => pushOurs(site, colour.server));
        if (i >= 0) colour.full.push(timing);
      }
      if (i >= 0) log(`  fleet full run ${i + 1}/${ctx.fullRuns}: ${colours.map((c) => `${c.size} hosts ${c.full.at(-1)?.seconds.toFixed(2)} s`).join(', ')}`);
    }
    const warmups = 4;
    for (let i = -warmups; i < ctx.runs; i++) {
      site.touch(((i + warmups) * 37 + 11) % spec.files);
      site.commit(`change ${i}`);
      for (const colour of colours) {
        const timing = await colour.pushes.push(() => pushOurs(site, colour.server));
        if (i >= 0) colour.onefile.push(timing);
      }
      if (i >= 0) log(`  fleet one-file run ${i + 1}/${ctx.runs}: ${colours.map((c) => `${c.size} hosts ${c.onefile.at(-1)?.seconds.toFixed(2)} s`).join(', ')}`);
    }
  } finally {
    site.cleanup();
    await everyHost.quiet();
    for (const colour of colours) await colour.server.stop();
  }
  return {
    sizes: [...sizes],
    full: Object.fromEntries(colours.map((c) => [c.size, collect(c.full)])),
    onefile: Object.fromEntries(colours.map((c) => [c.size, collect(c.onefile)])),
  };
}
