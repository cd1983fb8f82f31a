/**
 * Full deploys and one-file changes: our `git push` against rsync, `git archive | ssh tar` and the classic
 * bare-repo-plus-checkout push, interleaved run by run so drift on the machine hits every method alike.
 */
import { rmSync } from 'node:fs';
import { type Bench, type Server, emptyDir } from '../env.js';
import { type Summary, summarize } from '../measure.js';
import { type Site, type SiteSpec, makeSite } from '../site.js';
import { type Timing, archiveTo, pushClassic, pushOurs, rsyncTo, setupClassic, sshRoundTrip } from '../tools.js';

export interface MethodResult {
  summary: Summary;
  /** Our push only: the server's own `deployed ... in` times and per-run remote lines. */
  serverSeconds?: Summary;
  remoteLines?: string[][];
}

export type ScenarioResult = Record<string, MethodResult>;

function collect(timings: Timing[]): MethodResult {
  const result: MethodResult = { summary: summarize(timings.map((t) => t.seconds)) };
  if (timings.some((t) => t.remote)) {
    result.serverSeconds = summarize(timings.map((t) => t.remote?.deploy ?? Number.NaN).filter((n) => Number.isFinite(n)));
    result.remoteLines = timings.map((t) => t.remote?.lines ?? []);
  }
  return result;
}

export interface Context {
  bench: Bench;
  server: Server;
  runs: number;
  log: (line: string) => void;
}

/** Makes blue's app root and the server's blue.git empty, so the next push is a first, full deploy. */
async function resetOurs(ctx: Context): Promise<void> {
  await ctx.server.resetRepo('blue');
  await emptyDir(ctx.bench.hosts.appRoots.blue);
}

/** Each run a real full deploy: an empty app root and a server repo without the site's objects. */
export async function fullDeploy(ctx: Context, spec: SiteSpec): Promise<ScenarioResult> {
  const { bench, server, log } = ctx;
  const site = makeSite(spec, 'full');
  const times: Record<string, Timing[]> = { ours: [], oursNoDelta: [], rsync: [], archive: [], classic: [], ssh: [] };
  // The pusher's git spends most of a first push searching for deltas among the new blobs (pack.window 10);
  // measured as well with pack.window=0 set on the client, which the server cannot set for it.
  const noDelta = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'pack.window', GIT_CONFIG_VALUE_0: '0' };
  try {
    for (let i = -1; i < ctx.runs; i++) {
      const warm = i < 0;
      const record = (name: string, t: Timing) => {
        if (!warm) times[name]?.push(t);
      };
      await resetOurs(ctx);
      record('ours', await pushOurs(site, server));
      await resetOurs(ctx);
      record('oursNoDelta', await pushOurs(site, server, 'blue', noDelta));
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

/**
 * One file changed, then deployed by each method. The targets were first deployed in full; enough warm-up
 * changes run first that our host holds BLUEGREEN_KEEP_RELEASES (5) releases, so every timed push also
 * prunes one, as every push does in steady state.
 */
export async function oneFileChange(ctx: Context, spec: SiteSpec, label: string): Promise<ScenarioResult> {
  const { bench, server, log } = ctx;
  log(`  generating ${spec.files} × ${spec.size} B site and deploying it in full with each method…`);
  const site: Site = makeSite(spec, label);
  const times: Record<string, Timing[]> = { ours: [], rsync: [], classic: [] };
  const rsyncDir = bench.freshDir(`rsync-${label}`);
  const classic = await setupClassic(bench, label);
  try {
    await resetOurs(ctx);
    await pushOurs(site, server);
    await rsyncTo(bench, site, rsyncDir);
    await pushClassic(site, bench, classic);
    const warmups = 4;
    for (let i = -warmups; i < ctx.runs; i++) {
      const warm = i < 0;
      site.touch(((i + warmups) * 37 + 11) % spec.files);
      site.commit(`change ${i}`);
      const ours = await pushOurs(site, server);
      const classicTime = await pushClassic(site, bench, classic);
      const rsync = await rsyncTo(bench, site, rsyncDir);
      if (warm) continue;
      times.ours?.push(ours);
      times.classic?.push(classicTime);
      times.rsync?.push(rsync);
      log(`  ${label} one-file run ${i + 1}/${ctx.runs}: ours ${ours.seconds.toFixed(2)} s (server ${ours.remote?.deploy} s), classic ${classicTime.seconds.toFixed(2)} s, rsync ${rsync.seconds.toFixed(2)} s`);
    }
  } finally {
    site.cleanup();
    rmSync(rsyncDir, { recursive: true, force: true });
    rmSync(classic.workTree.replace(/www$/, ''), { recursive: true, force: true });
    await resetOurs(ctx);
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, collect(v)]));
}
