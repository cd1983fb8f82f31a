/**
 * `npm run bench`: our git push against rsync, `git archive | ssh tar` and the classic bare-repo push, on the
 * tests' loopback OpenSSH hosts, one-file pushes spaced and back to back; a colour of 1, 2, 4 and 8 hosts;
 * the SSH execs each deploy runs on a host (counted from the hosts' sshd logs); the local router under load
 * across flips; the server's peak RSS on a big push. Prints a table with ratios and targets (reported, not
 * asserted) and writes bench/results.json.
 *
 *   npm run bench                      # full run (~15 min)
 *   npm run bench -- --quick           # smoke run: 3 runs, small trees
 *   npm run bench -- --only full,onefile,big,backtoback,fleet,hooks,router,rss --runs 7
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, Teardown, startBench, startServer } from './env.js';
import { type Summary, fmtExecs, fmtSeconds, fmtSummary, summarize } from './measure.js';
import type { ExecCount } from './host-sessions.js';
import { type ScenarioResult, fullDeploy, oneFileChange } from './scenarios/deploys.js';
import { type FleetResult, fleetScaling } from './scenarios/fleet.js';
import { hookOverhead } from './scenarios/hooks.js';
import { type RouterResult, routerUnderLoad } from './scenarios/router.js';
import { type RssResult, peakRss } from './scenarios/rss.js';

interface Args {
  quick: boolean;
  runs: number;
  only: Set<string>;
  out: string;
  /** Wait (up to 15 min) until the 1-minute load average is below this before starting. */
  waitIdle: number | undefined;
}

/**
 * full: full deploy vs rsync, archive, classic; onefile: spaced one-file push in the small site; big: the same
 * in the big site; backtoback: one-file pushes back to back in the big site; fleet: full and one-file deploys
 * to a colour of 1, 2, 4, 8 hosts; hooks: a one-file push with an empty build hook against one without;
 * router: flips under load; rss: the server's memory on a big push.
 */
const ALL = ['full', 'onefile', 'big', 'backtoback', 'fleet', 'hooks', 'router', 'rss'];

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  let runs = quick ? 3 : 5;
  let only = new Set(ALL);
  let out = path.join(ROOT, 'bench', 'results.json');
  let waitIdle: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') runs = Number(argv[++i]);
    else if (arg === '--only') only = new Set((argv[++i] ?? '').split(','));
    else if (arg === '--out') out = path.resolve(argv[++i] ?? out);
    else if (arg === '--wait-idle') waitIdle = Number(argv[++i]);
    else if (arg !== '--quick') throw new Error(`unknown argument ${arg} (use --quick, --runs N, --only ${ALL.join(',')}, --out FILE, --wait-idle LOAD)`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs expects a positive integer');
  for (const name of only) if (!ALL.includes(name)) throw new Error(`--only: unknown scenario ${name} (${ALL.join(', ')})`);
  return { quick, runs, only, out, waitIdle };
}

interface Row {
  scenario: string;
  ours: string;
  execs: string;
  alternative: string;
  ratio: string;
  target: string;
  met: string;
}

function ratioRow(scenario: string, ours: Summary | undefined, altName: string, alt: Summary | undefined, target?: number, execs?: readonly ExecCount[]): Row {
  const ratio = ours && alt ? ours.median / alt.median : Number.NaN;
  return {
    scenario,
    ours: fmtSummary(ours),
    execs: fmtExecs(execs),
    alternative: `${altName}: ${fmtSummary(alt)}`,
    ratio: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—',
    target: target === undefined ? '' : `≤ ${target}×`,
    met: target === undefined || !Number.isFinite(ratio) ? '' : ratio <= target ? 'yes' : 'NO',
  };
}

function printTable(rows: Row[]): string {
  const header: Row = { scenario: 'scenario', ours: 'ours median (min–max)', execs: "SSH execs per deploy and host", alternative: 'alternative median (min–max)', ratio: 'ratio', target: 'target', met: 'met?' };
  const keys = Object.keys(header) as (keyof Row)[];
  const lines = [header, ...rows].map((r) => `| ${keys.map((k) => r[k].replaceAll('|', '\\|')).join(' | ')} |`);
  lines.splice(1, 0, `|${keys.map(() => '---').join('|')}|`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const fleetHosts = [1, 2, 4, 8];
  const sizes = args.quick
    ? { full: { files: 1000, size: 4096 }, small: { files: 1000, size: 4096 }, big: { files: 10_000, size: 1024 }, fleet: { files: 1000, size: 4096 }, fleetHosts, rss: { files: 50, size: 1 << 20 }, flips: 6, spacingMs: 1000 }
    : { full: { files: 5000, size: 4096 }, small: { files: 5000, size: 4096 }, big: { files: 50_000, size: 1024 }, fleet: { files: 5000, size: 4096 }, fleetHosts, rss: { files: 500, size: 1 << 20 }, flips: 20, spacingMs: 3000 };
  const t = new Teardown();
  let interrupted = false;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`${signal}: cleaning up`);
      void t.run().then(() => process.exit(code));
    });
  }
  if (args.waitIdle !== undefined) {
    const until = Date.now() + 15 * 60_000;
    while ((os.loadavg()[0] ?? 0) > args.waitIdle && Date.now() < until) {
      log(`waiting for the machine to settle: load average ${(os.loadavg()[0] ?? 0).toFixed(1)} > ${args.waitIdle}`);
      await new Promise((r) => setTimeout(r, 20_000));
    }
  }
  const loadAtStart = os.loadavg();
  if ((loadAtStart[0] ?? 0) > os.cpus().length) {
    log(`warning: load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs: other work is running, expect noisy numbers`);
  }
  const startedAt = new Date();
  const results: {
    full?: ScenarioResult;
    onefile?: ScenarioResult;
    big?: ScenarioResult;
    hooks?: ScenarioResult;
    fleet?: FleetResult;
    router?: RouterResult;
    rss?: RssResult;
  } = {};
  try {
    log(`bluegreen bench${args.quick ? ' (quick)' : ''}: ${args.runs} runs per measurement, medians (min–max)`);
    const bench = await startBench(t);
    const server = await startServer(bench.hosts.dir, bench.hosts.env, t);
    const ctx = { bench, server, runs: args.runs, spacingMs: sizes.spacingMs, log };
    if (args.only.has('full')) {
      log(`full deploy, ${sizes.full.files} × ${sizes.full.size} B…`);
      results.full = await fullDeploy(ctx, sizes.full);
    }
    if (args.only.has('onefile') || args.only.has('big')) {
      log(`one-file change in ${sizes.small.files} files…`);
      results.onefile = await oneFileChange(ctx, sizes.small, 'small');
    }
    if (args.only.has('big') || args.only.has('backtoback')) {
      const modes = { spaced: args.only.has('big'), backToBack: args.only.has('backtoback') };
      log(`one-file change in ${sizes.big.files} files${modes.spaced ? ', spaced' : ''}${modes.backToBack ? ', back to back' : ''}…`);
      results.big = await oneFileChange(ctx, sizes.big, 'big', modes);
    }
    if (args.only.has('hooks')) {
      log(`one-file change in ${sizes.small.files} files, with an empty build hook and without…`);
      results.hooks = await hookOverhead(ctx, sizes.small);
    }
    await server.stop();
    if (args.only.has('fleet')) {
      log(`a colour of ${sizes.fleetHosts.join(', ')} hosts: full deploy and one-file push of ${sizes.fleet.files} files…`);
      const fleetRuns = { fullRuns: Math.min(args.runs, 3), runs: args.runs };
      results.fleet = await fleetScaling({ bench, t, ...fleetRuns, spacingMs: sizes.spacingMs, log }, sizes.fleet, sizes.fleetHosts);
    }
    if (args.only.has('router')) {
      log(`local router: ${sizes.flips} flips under load…`);
      results.router = await routerUnderLoad({ flips: sizes.flips, concurrency: 8, maxRequests: 2_000_000, maxSeconds: 120 });
    }
    if (args.only.has('rss')) {
      log(`peak RSS while deploying ${(sizes.rss.files * sizes.rss.size) / 1048576} MiB…`);
      results.rss = await peakRss(bench, t, sizes.rss, log);
    }
  } finally {
    if (!interrupted) await t.run();
  }

  const rows: Row[] = [];
  const fullLabel = `full deploy, ${sizes.full.files.toLocaleString('en')} × ${sizes.full.size / 1024} KiB`;
  if (results.full) {
    const f = results.full;
    rows.push(ratioRow(fullLabel, f.ours?.summary, 'rsync -a --delete', f.rsync?.summary, 0.5, f.ours?.execs));
    rows.push(ratioRow(fullLabel, f.ours?.summary, 'git archive | ssh tar -x', f.archive?.summary, undefined, f.ours?.execs));
    rows.push(ratioRow(fullLabel, f.ours?.summary, 'classic push + checkout', f.classic?.summary, undefined, f.ours?.execs));
    rows.push(ratioRow(`${fullLabel}, pusher sets pack.window=0`, f.oursNoDelta?.summary, 'rsync -a --delete', f.rsync?.summary, 0.5, f.oursNoDelta?.execs));
  }
  const spaced = `spaced ≥ ${sizes.spacingMs / 1000} s`;
  const smallLabel = `one-file push, ${sizes.small.files.toLocaleString('en')} files, ${spaced}`;
  if (results.onefile) {
    const o = results.onefile;
    rows.push(ratioRow(smallLabel, o.ours?.summary, 'classic push + checkout', o.classic?.summary, 0.5, o.ours?.execs));
    rows.push(ratioRow(smallLabel, o.ours?.summary, 'rsync', o.rsync?.summary, undefined, o.ours?.execs));
  }
  const bigSite = `${sizes.big.files.toLocaleString('en')} × ${sizes.big.size / 1024} KiB`;
  if (results.big?.ours) {
    const b = results.big;
    const bigLabel = `one-file push, ${bigSite}, ${spaced}`;
    rows.push(ratioRow(bigLabel, b.ours?.summary, 'classic push + checkout', b.classic?.summary, 1.0, b.ours?.execs));
    rows.push(ratioRow(bigLabel, b.ours?.summary, `ours in ${sizes.small.files.toLocaleString('en')} files`, results.onefile?.ours?.summary, 1.3, b.ours?.execs));
    rows.push(ratioRow(bigLabel, b.ours?.summary, 'rsync', b.rsync?.summary, undefined, b.ours?.execs));
  }
  if (results.big?.oursBackToBack) {
    const b = results.big;
    const label = `one-file push, ${bigSite}, back to back`;
    rows.push(ratioRow(label, b.oursBackToBack?.summary, 'classic push + checkout, back to back', b.classicBackToBack?.summary, 1.0, b.oursBackToBack?.execs));
    if (b.ours) rows.push(ratioRow(label, b.oursBackToBack?.summary, `ours, ${spaced}`, b.ours.summary, undefined, b.oursBackToBack?.execs));
  }
  if (results.hooks) {
    const h = results.hooks;
    const overheadMs = h.hooked && h.plain ? (h.hooked.summary.median - h.plain.summary.median) * 1000 : Number.NaN;
    const row = ratioRow(`one-file push, ${sizes.small.files.toLocaleString('en')} files, with an empty build hook, ${spaced}`, h.hooked?.summary, 'the same without hooks', h.plain?.summary, undefined, h.hooked?.execs);
    rows.push({
      ...row,
      ratio: `${row.ratio} (${Number.isFinite(overheadMs) ? `${overheadMs >= 0 ? '+' : ''}${overheadMs.toFixed(0)} ms` : '—'})`,
      target: '≤ +50 ms',
      met: Number.isFinite(overheadMs) ? (overheadMs <= 50 ? 'yes' : 'NO') : '',
    });
  }
  if (results.fleet) {
    const f = results.fleet;
    const one = (n: number) => (n === 1 ? '1 host' : `${n} hosts`);
    for (const n of f.sizes.filter((n) => n > 1)) {
      const target = n === 8 ? 1.5 : undefined;
      rows.push(ratioRow(`one-file push to ${one(n)}, ${sizes.fleet.files.toLocaleString('en')} files, ${spaced}`, f.onefile[n]?.summary, one(1), f.onefile[1]?.summary, target, f.onefile[n]?.execs));
    }
    for (const n of f.sizes.filter((n) => n > 1)) {
      const target = n === 8 ? 3 : undefined;
      rows.push(ratioRow(`full deploy to ${one(n)}, ${sizes.fleet.files.toLocaleString('en')} × ${sizes.fleet.size / 1024} KiB`, f.full[n]?.summary, one(1), f.full[1]?.summary, target, f.full[n]?.execs));
    }
  }
  if (results.router) {
    const r = results.router;
    rows.push({
      scenario: `local router, ${r.flips} flips under load (${r.concurrency} clients)`,
      ours: `${r.requests} requests, ${r.failures} failed; switch ${fmtSummary(r.switchSeconds)}`,
      execs: '',
      alternative: `first new-colour answer ${fmtSummary(r.firstNewResponseSeconds)}; ${r.staleAfterSwitch} stale after switch`,
      ratio: '',
      target: '0 failed',
      met: r.failures === 0 ? 'yes' : 'NO',
    });
  }
  if (results.rss) {
    const r = results.rss;
    const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MB`;
    rows.push({
      scenario: `peak RSS, deploying ${(r.treeBytes / 1048576).toFixed(0)} MiB (${r.files} files)`,
      ours: `server ${mib(r.serverHwmKiB)} (idle ${mib(r.serverHwmBeforeKiB)}); push ${fmtSeconds(r.pushSeconds)} s`,
      execs: '',
      alternative: r.largestChild
        ? `largest child: ${r.largestChild.command} ${mib(r.largestChild.hwmKiB)} (of which heap ${mib(r.childrenAnon[r.largestChild.command] ?? 0)}; the rest is its mmap'd pack)`
        : '—',
      ratio: '',
      target: '< 200 MB',
      met: r.serverHwmKiB / 1024 < 200 ? 'yes' : 'NO',
    });
  }
  if (results.full?.ssh) {
    rows.push({ scenario: 'reference: ssh host true', ours: '', execs: '', alternative: `OpenSSH round trip: ${fmtSummary(results.full.ssh.summary)}`, ratio: '', target: '', met: '' });
  }
  const table = printTable(rows);
  console.log(`\n${table}\n`);
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick: args.quick,
    runs: args.runs,
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` },
    sizes,
    table,
    rows,
    results,
  };
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  const md = [
    `Measured ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${args.quick ? ' -- --quick' : ''}\`: ` +
      `${args.runs} runs each, median (min–max); ${report.machine.cpus} × ${report.machine.cpu}, Node ${process.version}; ` +
      `load average ${load(loadAtStart)} at start, ${load(os.loadavg())} at the end. Loopback OpenSSH hosts; targets are reported, not asserted.`,
    '',
    table,
    '',
  ].join('\n');
  const mdPath = args.out.replace(/\.json$/, '.md');
  writeFileSync(mdPath, md);
  console.log(`raw samples: ${path.relative(process.cwd(), args.out)}; table: ${path.relative(process.cwd(), mdPath)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});

export { summarize };
