/**
 * The deploy engine's phases without git push or the hook around it: `node dist/bench/phases.js [FILES] [BYTES]
 * [CHANGES] [--build-hook]` (with an empty `.bluegreen/hooks/build` in the site, run as a push would)
 * runs one host's deploy target (src/deploy/targets/posix-releases.ts) directly (warm ssh2 transport, the site's own repository) for a
 * full deploy and several one-file changes, printing each deploy's phase times and the SSH execs it ran on the
 * host (counted from the host's sshd log: on the deploy's clock, and after it); then times the pieces a push adds
 * around it (start-up of the hook, an exec round trip on the warm connection, `cp -al` of the tree).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hookScriptPath, PERL } from '../src/adapters/git/repos.js';
import { RevisionReader } from '../src/adapters/git/revisions.js';
import { SshTransport } from '../src/adapters/ssh/ssh-transport.js';
import { freshReleaseId } from '../src/core/deploy-plan.js';
import { PosixReleasesTarget } from '../src/deploy/targets/posix-releases.js';
import { Teardown, emptyDir, startBench } from './env.js';
import { summarize } from './measure.js';
import { run } from './proc.js';
import { addEmptyBuildHook, makeSite } from './site.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--build-hook');
  const buildHook = process.argv.includes('--build-hook');
  const files = Number(args[0] ?? 5000);
  const size = Number(args[1] ?? 4096);
  const changes = Number(args[2] ?? 8);
  const t = new Teardown();
  try {
    const bench = await startBench(t);
    const site = makeSite({ files, size }, 'phases');
    t.teardown(() => site.cleanup());
    if (buildHook) addEmptyBuildHook(site);
    const app = buildHook ? { hooks: new Set(['build'] as const), shared: [], timeoutSeconds: 60, pusher: 'bench', live: false } : undefined;
    const transport = new SshTransport({
      host: '127.0.0.2',
      port: bench.hosts.blue.port,
      user: bench.user,
      privateKey: readFileSync(bench.hosts.keyPath),
      knownHostsPath: bench.hosts.knownHostsPath,
    });
    t.teardown(() => transport.close());
    const appRoot = bench.hosts.appRoots.blue;
    await emptyDir(appRoot);
    const reader = new RevisionReader(path.join(site.dir, '.git'));
    // Every remote command of a deploy is an exec (a session and a shell on the host): counted where it runs.
    const sessions = bench.blueSessions;
    const target = new PosixReleasesTarget(transport, appRoot, 'blue');
    const deploy = async (label: string) => {
      const revision = site.git('rev-parse', 'HEAD').trim();
      const before = sessions.mark();
      const t0 = performance.now();
      const inspectStart = performance.now();
      const state = await target.inspect();
      const inspectMs = performance.now() - inspectStart;
      const release = freshReleaseId(new Date(), revision, state.releases);
      const prepared = await target.prepare({ colour: 'blue', revision, release, state, reader, keepReleases: 5, say: () => {}, ...(app ? { app } : {}) });
      await prepared.commit();
      const durationMs = Math.round(performance.now() - t0);
      const committed = sessions.mark();
      // As the server does after answering the push.
      prepared.finish((line) => console.error(line));
      await target.idle();
      await sessions.quiet();
      const [onClock = 0] = sessions.since(before, committed).sessions;
      const [after = 0] = sessions.since(committed).sessions;
      const result = { durationMs, phases: { inspect: Math.round(inspectMs), ...prepared.phases, "execs on the push's clock": onClock, 'execs after': after } };
      const phases = Object.entries(result.phases).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`${label}: ${result.durationMs} ms (${phases})`);
      return result;
    };
    await transport.exec(['true']);
    await deploy(`full deploy of ${files} × ${size} B`);
    const byPhase: Record<string, number[]> = {};
    for (let i = 0; i < changes; i++) {
      site.touch((i * 37 + 11) % files);
      site.commit(`change ${i}`);
      const result = await deploy(`one-file change ${i + 1}`);
      for (const [k, v] of Object.entries(result.phases)) (byPhase[k] ??= []).push(v);
      (byPhase.total ??= []).push(result.durationMs);
    }
    console.log('one-file medians (ms):', Object.entries(byPhase).map(([k, v]) => `${k} ${summarize(v).median}`).join(', '));

    const pieces: Record<string, number[]> = { 'exec true (warm ssh2)': [], 'hook start-up': [], 'node -e 0': [], [`cp -al of ${files} files`]: [], [`rm -rf of a ${files}-file release`]: [] };
    for (let i = 0; i < 5; i++) {
      let t0 = performance.now();
      await transport.exec(['true']);
      pieces['exec true (warm ssh2)']?.push(performance.now() - t0);
      // The hook with no engine socket: start-up, read stdin, fail to connect, exit.
      const hook = await run(PERL, [hookScriptPath(), 'pre-receive'], {
        env: { ...process.env, BLUEGREEN_ENGINE_SOCKET: '/nonexistent/engine.sock', GIT_DIR: '/nonexistent' },
        input: '',
        allowFail: true,
      });
      pieces['hook start-up']?.push(hook.seconds * 1000);
      const bare = await run(process.execPath, ['-e', '0']);
      pieces['node -e 0']?.push(bare.seconds * 1000);
      t0 = performance.now();
      const copy = await transport.exec(['sh', '-c', 'cd "$1" && cp -al "releases/$(ls releases | tail -1)" releases/.bench-copy', 'sh', appRoot]);
      if (copy.code !== 0) throw new Error(copy.stderr);
      pieces[`cp -al of ${files} files`]?.push(performance.now() - t0);
      t0 = performance.now();
      await transport.exec(['rm', '-rf', `${appRoot}/releases/.bench-copy`]);
      pieces[`rm -rf of a ${files}-file release`]?.push(performance.now() - t0);
    }
    console.log('pieces, median (min–max) ms:');
    for (const [k, v] of Object.entries(pieces)) {
      const s = summarize(v);
      console.log(`  ${k}: ${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`);
    }
    await emptyDir(appRoot);
  } finally {
    await t.run();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
