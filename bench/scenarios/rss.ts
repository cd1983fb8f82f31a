/**
 * Peak memory while our server deploys a big tree (incompressible 1 MiB files): the server process's own
 * VmHWM, and separately the largest of its children (git-receive-pack, index-pack, the hook, git archive),
 * sampled from /proc every 10 ms (a child's final peak may fall between samples: these are lower bounds).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Bench, type Teardown, emptyDir, startServer } from '../env.js';
import { descendants, memoryOf } from '../proc.js';
import { makeSite } from '../site.js';
import { pushOurs } from '../tools.js';

export interface RssResult {
  treeBytes: number;
  files: number;
  pushSeconds: number;
  serverSeconds: number | undefined;
  /** The server's VmHWM before the push (after start-up), and at the end (KiB). */
  serverHwmBeforeKiB: number;
  serverHwmKiB: number;
  /** Largest VmHWM seen per child command (KiB). */
  children: Record<string, number>;
  /** Largest RssAnon (heap, not mapped files such as git's mmap'd packs) seen per child command, and the server's (KiB). */
  childrenAnon: Record<string, number>;
  serverAnonKiB: number;
  largestChild: { command: string; hwmKiB: number } | undefined;
  remoteLines: string[];
}

export async function peakRss(bench: Bench, t: Teardown, options: { files: number; size: number }, log: (line: string) => void): Promise<RssResult> {
  log(`  generating ${options.files} × ${options.size / 1048576} MiB of random bytes…`);
  const site = makeSite({ files: options.files, size: options.size, binary: true }, 'rss');
  const dataDir = mkdtempSync(path.join(bench.hosts.dir, 'rss-data-'));
  await emptyDir(bench.hosts.appRoots.blue);
  try {
    const server = await startServer(bench.hosts.dir, { ...bench.hosts.env, BLUEGREEN_DATA_DIR: dataDir }, t);
    // Let start-up settle, then take the baseline.
    await new Promise((r) => setTimeout(r, 500));
    const before = memoryOf(server.pid)?.hwmKiB ?? 0;
    const children = new Map<string, number>();
    const childrenAnon = new Map<string, number>();
    let serverHwm = before;
    let serverAnon = 0;
    const sample = () => {
      const own = memoryOf(server.pid);
      serverHwm = Math.max(serverHwm, own?.hwmKiB ?? 0);
      serverAnon = Math.max(serverAnon, own?.anonKiB ?? 0);
      for (const pid of descendants(server.pid)) {
        const m = memoryOf(pid);
        if (!m) continue;
        const words = m.cmdline.split(' ');
        const label =
          m.name === 'node' ? `node ${path.basename(words[1] ?? '')}` : words[0]?.startsWith('git-') ? path.basename(words[0]) : words[0]?.endsWith('git') ? `git ${words.find((w, i) => i > 0 && !w.startsWith('-')) ?? ''}` : m.name;
        children.set(label, Math.max(children.get(label) ?? 0, m.hwmKiB));
        childrenAnon.set(label, Math.max(childrenAnon.get(label) ?? 0, m.anonKiB));
      }
    };
    const timer = setInterval(sample, 10);
    log('  pushing…');
    const push = await pushOurs(site, server).finally(() => clearInterval(timer));
    sample();
    await server.stop();
    let largest: RssResult['largestChild'];
    for (const [command, hwmKiB] of children) if (!largest || hwmKiB > largest.hwmKiB) largest = { command, hwmKiB };
    return {
      treeBytes: options.files * options.size,
      files: options.files,
      pushSeconds: push.seconds,
      serverSeconds: push.remote?.deploy,
      serverHwmBeforeKiB: before,
      serverHwmKiB: serverHwm,
      children: Object.fromEntries(children),
      childrenAnon: Object.fromEntries(childrenAnon),
      serverAnonKiB: serverAnon,
      largestChild: largest,
      remoteLines: push.remote?.lines ?? [],
    };
  } finally {
    site.cleanup();
    await emptyDir(bench.hosts.appRoots.blue);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
