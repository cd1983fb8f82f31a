/**
 * Full deploys and one-file changes: our `git push` against rsync, `git archive | ssh tar` and the classic
 * bare-repo-plus-checkout push, interleaved run by run so drift on the machine hits every method alike.
 * Each of our pushes is followed by a wait until blue's host is quiet, so the work the server does after
 * answering is over (and counted) before anything else runs; one-file pushes come back to back as well.
 */
import { rmSync } from 'node:fs';
import { type Bench, type Server, emptyDir } from '../env.js';
import type { ExecCount, HostSessions } from '../host-sessions.js';
import { type Summary, summarize } from '../measure.js';
import { type Site, type SiteSpec, makeSite } from '../site.js';
import { type Timing, archiveTo, pushClassic, pushOurs, rsyncTo, setupClassic, sshRoundTrip } from '../tools.js';

export interface MethodResult {
  summary: Summary;
  /** Our push only: the server's own `deployed ... in` times and per-run remote lines. */
  serverSeconds?: Summary;
  remoteLines?: string[][];
  /** Our push only: the SSH sessions of each deploy on each host. */
  execs?: ExecCount[];
}

export type ScenarioResult = Record<string, MethodResult>;

export function collect(timings: Timing[]): MethodResult {
  const result: MethodResult = { summary: summarize(timings.map((t) => t.seconds)) };
  if (timings.some((t) => t.remote)) {
    result.serverSeconds = summarize(timings.map((t) => t.remote?.deploy ?? Number.NaN).filter((n) => Number.isFinite(n)));
    result.remoteLines = timings.map((t) => t.remote?.lines ?? []);
  }
  if (timings.some((t) => t.execs)) result.execs = timings.flatMap((t) => t.execs ?? []);
  return result;
}

export interface Context {
  bench: Bench;
  server: Server;
  runs: number;
  /** A spaced push starts at least this long after the previous one returned (and once the hosts are quiet). */
  spacingMs: number;
  log: (line: string) => void;
}

/**
 * Spaced pushes to one server: each waits until the hosts are quiet and `spacingMs` have passed since the
 * previous one returned, then is timed and its sessions counted on the push's clock and after it.
 */
export class SpacedPushes {
  #returnedAt = 0;

  constructor(
    readonly sessions: HostSessions,
    readonly spacingMs: number,
  ) {}

  async push(push: () => Promise<Timing>): Promise<Timing> {
    await this.sessions.quiet();
    const wait = this.#returnedAt + this.spacingMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const { value, execs } = await this.sessions.count(async () => {
      const timing = await push();
      this.#returnedAt = Date.now();
      return timing;
    });
    return { ...value, execs };
  }
}

/** Makes a colour's app root and the server's repository of it empty, so the next push is a first, full deploy. */
export async function resetOurs(ctx: Context, colour: 'blue' | 'green' = 'blue'): Promise<void> {
  await ctx.server.resetRepo(colour);
  await emptyDir(ctx.bench.hosts.appRoots[colour]);
}

/** Each run a real full deploy: an empty app root and a server repo without the site's objects. */
export async function fullDeploy(ctx: Context, spec: SiteSpec): Promise<ScenarioResult> {
  const { bench, server, log } = ctx;
  const site = makeSite(spec, 'full');
  const times: Record<string, Timing[]> = { ours: [], oursNoDelta: [], rsync: [], archive: [], classic: [], ssh: [] };
  // The pusher's git spends most of a first push searching for deltas among the new blobs (pack.window 10);
  // measured as well with pack.window=0 set on the client, which the server cannot set for it.
  const noDelta = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'pack.window', GIT_CONFIG_VALUE_0: '0' };
  const counted = new SpacedPushes(bench.blueSessions, 0);
  try {
    for (let i = -1; i < ctx.runs; i++) {
      const warm = i < 0;
      const record = (name: string, t: Timing) => {
        if (!warm) times[name]?.push(t);
      };
      await resetOurs(ctx);
      record('ours', await counted.push(() => pushOurs(site, server)));
      await resetOurs(ctx);
      record('oursNoDelta', await counted.push(() => pushOurs(site, server, 'blue', noDelta)));
      const rsyncDir = bench.freshDir('rsync-full');
      record('rsync', await rsyncTo(bench, site, rsyncDir));
      rmSync(rsyncDir, { recursive: true, force: true });
      const archiveDir = bench.freshDir('archive-full');
      record('archive', await archiveTo(bench, site, archiveDir));
      rmSync(archiveDir, { recursive: true, force: true });
      const classic = await setupClassic(bench, 'full');
      record('classic', await pushClassic(site, bench, classic));
      rmSync(classic.workTree, { recursive: true, force: true });
      rmSync(classic.workTree.replace(/www$/, ''), { recursive: true, force: true });
      record('ssh', await sshRoundTrip(bench));
      if (!warm) {
        const last = (name: string) => times[name]?.at(-1)?.seconds.toFixed(2);
        log(`  full run ${i + 1}/${ctx.runs}: ours ${last('ours')} s (client pack.window=0: ${last('oursNoDelta')} s), rsync ${last('rsync')} s, archive ${last('archive')} s, classic ${last('classic')} s`);
      }
    }
  } finally {
    site.cleanup();
    await resetOurs(ctx);
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, collect(v)]));
}

/** What `oneFileChange` measures: our pushes spaced (each with classic and rsync), and/or back to back. */
export interface OneFileModes {
  spaced: boolean;
  backToBack: boolean;
}

/**
 * One file changed, then deployed by each method. The targets were first deployed in full; enough warm-up
 * changes run first that our host holds BLUEGREEN_KEEP_RELEASES (5) releases, so every timed push also
 * prunes one, as every push does in steady state.
 *
 * Spaced: our push starts once the host is quiet and `spacingMs` after our previous push returned; then the
 * classic push and rsync of the same change. Back to back: `runs + 1` one-file commits made ahead, pushed one
 * right after the other returns (the first, which follows a quiet host, is not counted); then the same
 * commits pushed back to back the classic way.
 */
export async function oneFileChange(ctx: Context, spec: SiteSpec, label: string, modes: OneFileModes = { spaced: true, backToBack: false }): Promise<ScenarioResult> {
  const { bench, server, log } = ctx;
  log(`  generating ${spec.files} × ${spec.size} B site and deploying it in full with each method…`);
  const site: Site = makeSite(spec, label);
  const times: Record<string, Timing[]> = { ours: [], rsync: [], classic: [], oursBackToBack: [], classicBackToBack: [] };
  const rsyncDir = bench.freshDir(`rsync-${label}`);
  const classic = await setupClassic(bench, label);
  const spaced = new SpacedPushes(bench.blueSessions, ctx.spacingMs);
  let changes = 0;
  const change = () => {
    site.touch((changes * 37 + 11) % spec.files);
    return site.commit(`change ${++changes}`);
  };
  try {
    await resetOurs(ctx);
    await pushOurs(site, server);
    await rsyncTo(bench, site, rsyncDir);
    await pushClassic(site, bench, classic);
    const warmups = 4;
    for (let i = -warmups; i < (modes.spaced ? ctx.runs : 0); i++) {
      const warm = i < 0;
      change();
      const ours = await spaced.push(() => pushOurs(site, server));
      const classicTime = await pushClassic(site, bench, classic);
      const rsync = await rsyncTo(bench, site, rsyncDir);
      if (warm) continue;
      times.ours?.push(ours);
      times.classic?.push(classicTime);
      times.rsync?.push(rsync);
      log(`  ${label} one-file run ${i + 1}/${ctx.runs}: ours ${ours.seconds.toFixed(2)} s (server ${ours.remote?.deploy} s), classic ${classicTime.seconds.toFixed(2)} s, rsync ${rsync.seconds.toFixed(2)} s`);
    }
    if (modes.backToBack) {
      const commits = Array.from({ length: ctx.runs + 1 }, change);
      await bench.blueSessions.quiet();
      const sessions = bench.blueSessions;
      for (const [k, commit] of commits.entries()) {
        const before = sessions.mark();
        const ours = await pushOurs(site, server, 'blue', {}, commit);
        const onClock = sessions.since(before);
        if (k === 0) continue;
        times.oursBackToBack?.push({ ...ours, execs: onClock.sessions.map((n, i) => ({ onClock: n, connections: onClock.connections[i] ?? 0 })) });
      }
      await sessions.quiet();
      for (const [k, commit] of commits.entries()) {
        const classicTime = await pushClassic(site, bench, classic, commit);
        if (k > 0) times.classicBackToBack?.push(classicTime);
      }
      const secs = (name: string) => times[name]?.map((t) => t.seconds.toFixed(2)).join(' ');
      log(`  ${label} back to back: ours ${secs('oursBackToBack')} s; classic ${secs('classicBackToBack')} s`);
    }
  } finally {
    site.cleanup();
    rmSync(rsyncDir, { recursive: true, force: true });
    rmSync(classic.workTree.replace(/www$/, ''), { recursive: true, force: true });
    await bench.blueSessions.quiet();
    await resetOurs(ctx);
  }
  return Object.fromEntries(Object.entries(times).filter(([, v]) => v.length > 0).map(([k, v]) => [k, collect(v)]));
}
