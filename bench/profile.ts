/**
 * Where does a push's time go? `node dist/bench/profile.js [FILES] [BYTES]`: starts the hosts and a server
 * (with GIT_TRACE_PERFORMANCE for its git processes), then does a full push and three one-file pushes of a
 * generated site, printing every line of git's output with the time since the push started, then the
 * client's and server's git performance traces.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Teardown, cleanEnv, startBench, startServer } from './env.js';
import { makeSite } from './site.js';

async function tracedPush(cwd: string, url: string, env: Record<string, string>): Promise<void> {
  const t0 = performance.now();
  const child = spawn('git', ['push', '--progress', url, 'main'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let pending = '';
  const onData = (c: Buffer) => {
    pending += c.toString();
    let at: number;
    while ((at = pending.search(/[\r\n]/)) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      if (line.trim() !== '' && !/\d+% \(\d+\/\d+\)[^,]*$/.test(line)) console.log(`${((performance.now() - t0) / 1000).toFixed(3).padStart(7)}  ${line}`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  console.log(`${((performance.now() - t0) / 1000).toFixed(3).padStart(7)}  (git push exited ${code})`);
}

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 5000);
  const size = Number(process.argv[3] ?? 4096);
  const t = new Teardown();
  try {
    const bench = await startBench(t);
    const serverTrace = path.join(bench.hosts.dir, 'server-trace.txt');
    const clientTrace = path.join(bench.hosts.dir, 'client-trace.txt');
    const server = await startServer(bench.hosts.dir, { ...bench.hosts.env, GIT_TRACE_PERFORMANCE: serverTrace }, t);
    const site = makeSite({ files, size }, 'profile');
    t.teardown(() => site.cleanup());
    const url = `${server.base}/blue.git`;
    console.log(`== full push of ${files} × ${size} B`);
    setTimeout(() => console.log(`server output so far:\n${server.output()}`), 1000).unref();
    await tracedPush(site.dir, url, { GIT_TRACE_PERFORMANCE: clientTrace });
    for (let i = 0; i < 3; i++) {
      site.touch(i * 7);
      site.commit(`change ${i}`);
      console.log(`== one-file push ${i + 1}`);
      await tracedPush(site.dir, url, { GIT_TRACE_PERFORMANCE: clientTrace });
    }
    const summarizeTrace = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => /performance: [\d.]+ s/.test(l))
        .map((l) => l.replace(/^.*performance: /, '  ').replace(/\s+/g, ' ').slice(0, 160))
        .join('\n');
    console.log('== client GIT_TRACE_PERFORMANCE');
    console.log(summarizeTrace(clientTrace));
    console.log('== server GIT_TRACE_PERFORMANCE');
    console.log(summarizeTrace(serverTrace));
    rmSync(serverTrace, { force: true });
  } finally {
    await t.run();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
