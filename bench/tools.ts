/** The deploy methods being compared, each as one timed command line. */
import path from 'node:path';
import { type Bench, type Server, cleanEnv } from './env.js';
import { q, run, sh } from './proc.js';
import type { ExecCount } from './host-sessions.js';
import type { Site } from './site.js';

export interface Timing {
  seconds: number;
  /** For our push: what the server reported (seconds), and its remote: lines. */
  remote?: { deploy?: number; send?: number; switch?: number; lines: string[] };
  /** For our push: the SSH sessions each host of the colour ran for it (bench/host-sessions.ts). */
  execs?: ExecCount[];
}

/** `git push http://bench:TOKEN@server/blue.git REV:main` — our server (REV: main, or a commit made ahead). */
export async function pushOurs(site: Site, server: Server, colour: 'blue' | 'green' = 'blue', extraEnv: Record<string, string> = {}, rev = 'main'): Promise<Timing> {
  const result = await run('git', ['push', '-q', `${server.base}/${colour}.git`, `${rev}:refs/heads/main`], { cwd: site.dir, env: cleanEnv(extraEnv) });
  const text = result.stdout + result.stderr;
  const lines = text.split('\n').filter((l) => l.startsWith('remote:')).map((l) => l.replace(/^remote:\s*/, '').trimEnd());
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  if (!/remote: deployed [0-9a-f]{12}/.test(text)) throw new Error(`our push did not deploy:\n${text}`);
  return {
    seconds: result.seconds,
    remote: {
      deploy: num(/remote: deployed \S+ to \S+ in ([\d.]+) s/),
      send: num(/remote: sent .* in ([\d.]+) s/),
      switch: num(/switched in ([\d.]+) s/),
      lines,
    },
  };
}

/** `rsync -a --delete` over ssh from the working tree (without .git) into `dir` on blue. */
export async function rsyncTo(bench: Bench, site: Site, dir: string): Promise<Timing> {
  const result = await run('rsync', ['-a', '--delete', '--exclude=/.git', '-e', bench.sshCommand, `${site.dir}/`, `${bench.dest}:${dir}/`]);
  return { seconds: result.seconds };
}

/** `git archive HEAD | ssh host 'tar -x -C dir'` (dir exists, empty). */
export async function archiveTo(bench: Bench, site: Site, dir: string): Promise<Timing> {
  const ssh = [bench.sshCommand, q(bench.dest), q(`tar -x -C ${q(dir)}`)].join(' ');
  const result = await sh(`git archive --format=tar HEAD | ${ssh}`, { cwd: site.dir, env: cleanEnv() });
  return { seconds: result.seconds };
}

export interface Classic {
  /** `ssh://user@127.0.0.2:PORT/path/site.git` */
  url: string;
  workTree: string;
}

/** The classic setup on blue, made over ssh (untimed): a bare repo whose post-receive checks out into a directory. */
export async function setupClassic(bench: Bench, label: string): Promise<Classic> {
  const base = bench.freshDir(`classic-${label}`);
  const repo = path.join(base, 'site.git');
  const workTree = path.join(base, 'www');
  const hook = `#!/bin/sh\nexec git --work-tree=${q(workTree)} checkout -f -q main\n`;
  await bench.remote(
    `set -e; mkdir -p ${q(workTree)}; git init -q --bare -b main ${q(repo)}; ` +
      `printf '%s' ${q(hook)} > ${q(repo)}/hooks/post-receive; chmod +x ${q(repo)}/hooks/post-receive`,
  );
  return { url: `${bench.blueUrl}${repo}`, workTree };
}

/** `git push ssh://host/path/site.git REV:main`, whose post-receive checks the tree out. */
export async function pushClassic(site: Site, bench: Bench, classic: Classic, rev = 'main'): Promise<Timing> {
  const result = await run('git', ['push', '-q', classic.url, `${rev}:refs/heads/main`], { cwd: site.dir, env: cleanEnv({ GIT_SSH_COMMAND: bench.sshCommand }) });
  return { seconds: result.seconds };
}

/** `ssh host true`: what one OpenSSH connection costs. */
export async function sshRoundTrip(bench: Bench): Promise<Timing> {
  const result = await run('ssh', [...bench.sshArgs, bench.dest, 'true']);
  return { seconds: result.seconds };
}
