import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createGitChildren, endProcessTree } from '../../src/server/git-children.js';

/** Is `pid` a live process (not a zombie)? */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** A shell whose two background children print their pids; `ignoreTerm` makes all of them ignore SIGTERM. */
async function shellTree(ignoreTerm: boolean): Promise<{ child: ChildProcess; pids: number[] }> {
  const script = `${ignoreTerm ? 'trap "" TERM; ' : ''}sleep 1000 & echo $!; sleep 1000 & echo $!; wait`;
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').length > 2) resolve();
    });
  });
  return { child, pids: [child.pid!, ...out.trim().split('\n').map(Number)] };
}

/** What `adopt` needs of a response: whether it finished, and its close event. */
function fakeResponse(): http.ServerResponse & EventEmitter {
  return Object.assign(new EventEmitter(), { writableFinished: false, closed: false }) as unknown as http.ServerResponse & EventEmitter;
}

t.test('endProcessTree ends a child and its children with SIGTERM', async (t) => {
  const { child, pids } = await shellTree(false);
  await endProcessTree(child);
  t.same(pids.filter(running), [], 'all gone');
  t.not(child.signalCode, 'SIGKILL', 'SIGTERM was enough: nothing was killed');
});

t.test('endProcessTree kills what ignores SIGTERM, after KILL_AFTER_MS', async (t) => {
  const { child, pids } = await shellTree(true);
  await endProcessTree(child);
  // Every process of the tree ignores SIGTERM: only the SIGKILL can have ended them. (The root shell may end
  // by its own exit once its children are killed, or by the SIGKILL: which one comes first is a race.)
  t.same(pids.filter(running), [], 'all gone');
  t.ok(child.signalCode === 'SIGKILL' || child.exitCode !== null, 'the root ended');
});

t.test('endProcessTree removes the quarantine its git processes were given, and no other', async (t) => {
  const objects = path.join(mkdtempSync(path.join(os.tmpdir(), 'bg-quarantine-')), 'objects');
  t.teardown(() => rmSync(path.dirname(objects), { recursive: true, force: true }));
  const ours = path.join(objects, 'tmp_objdir-incoming-ours');
  const theirs = path.join(objects, 'tmp_objdir-incoming-theirs');
  for (const dir of [ours, theirs]) mkdirSync(path.join(dir, 'pack'), { recursive: true });
  writeFileSync(path.join(ours, 'pack', 'tmp_pack_1'), 'half a pack');
  // Like a git-receive-pack too slow to clean up (it ignores SIGTERM), whose unpack was given the quarantine.
  const child = spawn('sh', ['-c', 'trap "" TERM; sleep 1000 & echo $!; wait'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, GIT_QUARANTINE_PATH: ours },
  });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  await endProcessTree(child);
  t.notOk(existsSync(ours), 'its quarantine is gone');
  t.ok(existsSync(theirs), "another push's quarantine stays");
});

t.test('endProcessTree leaves a GIT_QUARANTINE_PATH that is not a quarantine alone', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-not-quarantine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn('sh', ['-c', 'sleep 1000 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GIT_QUARANTINE_PATH: dir } });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  await endProcessTree(child);
  t.ok(existsSync(dir));
});

t.test('an adopted child that writes a lot of error output does not block; the log gets a bounded part', async (t) => {
  const logs: string[] = [];
  const children = createGitChildren((line) => logs.push(line));
  const child = spawn('sh', ['-c', 'yes "error line" | head -n 100000 >&2; printf "\\033[31mlast\\033[0m" >&2'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.adopt(child, fakeResponse(), 'git-test');
  t.equal(children.size, 1);
  await new Promise((resolve) => child.once('close', resolve));
  t.equal(children.size, 0);
  t.equal(logs[0], 'git: git-test: error line');
  t.ok(logs.length > 100 && logs.length < 500, `${logs.length} lines logged`);
  t.equal(logs.at(-1), `git: git-test: ${100_000 * 10 + 13 - (logs.length - 1) * 10} more characters of error output not logged`);
});

t.test("an adopted child is ended when its request's client goes away before the answer is complete", async (t) => {
  const logs: string[] = [];
  const children = createGitChildren((line) => logs.push(line));
  const { child, pids } = await shellTree(false);
  const res = fakeResponse();
  children.adopt(child, res, 'git-test');
  res.emit('close');
  await new Promise((resolve) => child.once('close', resolve));
  t.same(pids.filter(running), []);
  t.same(logs, ['git: the client went away before git-test finished; ending it']);
});

t.test('an adopted child whose answer was complete is left alone; endAll ends every one', async (t) => {
  const children = createGitChildren(() => {});
  const trees = [await shellTree(false), await shellTree(false)];
  for (const { child } of trees) {
    const res = Object.assign(fakeResponse(), { writableFinished: true });
    children.adopt(child, res, 'git-test');
    res.emit('close');
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(trees.flatMap((tree) => tree.pids).filter((pid) => !running(pid)), [], 'still running');
  await children.endAll();
  t.same(trees.flatMap((tree) => tree.pids).filter(running), [], 'all ended');
});
