import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { acquireLock } from '../../../src/adapters/state/locks.js';
import {
  addUser,
  createUsersReader,
  listUsers,
  loadUsers,
  removeUser,
  usersFilePath,
  verifyUser,
} from '../../../src/adapters/state/users.js';
import { compiledModule } from '../../helpers/bluegreen.js';

function dataDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'data');
}

t.test('addUser returns a fresh token once and keeps only a salted hash, in a private file', async (t) => {
  const dir = dataDir(t);
  const token = await addUser(dir, 'alice');
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url');
  const other = await addUser(dir, 'bob');
  t.not(other, token);
  const file = usersFilePath(dir);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  t.notMatch(text, token, 'the token itself is not stored');
  t.notMatch(text, other);
  const stored = JSON.parse(text) as { users: Record<string, { created: string; salt: string; hash: string }> };
  t.same(Object.keys(stored.users), ['alice', 'bob']);
  t.not(stored.users.alice?.salt, stored.users.bob?.salt);
  t.same(readdirSync(dir), ['locks', 'users.json'], 'no temporary files are left behind');
  t.same(readdirSync(path.join(dir, 'locks')), [], 'nor the users lock');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the data directory is private');

  const users = loadUsers(dir);
  t.ok(verifyUser(users, 'alice', token));
  t.ok(verifyUser(users, 'bob', other));
  t.notOk(verifyUser(users, 'alice', other), "another user's token");
  t.notOk(verifyUser(users, 'alice', `${token}x`));
  t.notOk(verifyUser(users, 'alice', ''));
  t.notOk(verifyUser(users, 'carol', token), 'an unknown user');
});

t.test('names: refused when taken or malformed', async (t) => {
  const dir = dataDir(t);
  await addUser(dir, 'alice');
  await t.rejects(addUser(dir, 'alice'), {
    name: 'UserError',
    message: 'user "alice" already exists',
    hint: 'to give them a new token, run `bluegreen user remove alice` and add them again; see the existing users with `bluegreen user list`',
  });
  for (const name of ['Alice', '1alice', '', '-a', 'a b', '../x', 'a/b', 'al:ice', `a${'b'.repeat(32)}`, 'ålice']) {
    await t.rejects(
      addUser(dir, name),
      {
        name: 'UserError',
        exitCode: 2,
        message: `bad user name ${JSON.stringify(name)}: expected a lowercase letter followed by up to 31 lowercase letters, digits, _ or -`,
        hint: 'for example `bluegreen user add alice`',
      },
      JSON.stringify(name),
    );
  }
  await t.resolves(addUser(dir, `a${'b'.repeat(31)}`), '32 characters');
  await t.resolves(addUser(dir, 'deploy_bot-2'));
  t.same(
    listUsers(dir).map((u) => u.name),
    [`a${'b'.repeat(31)}`, 'alice', 'deploy_bot-2'],
  );
});

t.test('listUsers and removeUser', async (t) => {
  const dir = dataDir(t);
  t.same(listUsers(dir), [], 'no file yet: no users');
  await addUser(dir, 'zed');
  await addUser(dir, 'amy');
  const listed = listUsers(dir);
  t.same(
    listed.map((u) => u.name),
    ['amy', 'zed'],
  );
  for (const user of listed) {
    t.match(user.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    t.same(Object.keys(user).sort(), ['created', 'name'], 'names and times only');
  }
  await removeUser(dir, 'zed');
  t.same(
    listUsers(dir).map((u) => u.name),
    ['amy'],
  );
  await t.rejects(removeUser(dir, 'zed'), {
    name: 'UserError',
    message: 'there is no user "zed"',
    hint: 'see the existing users with `bluegreen user list`',
  });
  t.equal(statSync(usersFilePath(dir)).mode & 0o777, 0o600);
});

t.test('a damaged users file is reported, naming the file', async (t) => {
  const dir = dataDir(t);
  await addUser(dir, 'alice');
  const file = usersFilePath(dir);
  const hint = 'fix or remove the file, then add users again with `bluegreen user add NAME`';
  const cases: Array<[string, RegExp]> = [
    ['{ nope', /^the users file .*users\.json is not valid: .*JSON/],
    ['[]', /is not valid: expected \{"users": \{NAME: \{\.\.\.\}\}\}$/],
    ['{"users": []}', /is not valid: expected \{"users": \{NAME: \{\.\.\.\}\}\}$/],
    ['{"users": {"Bad Name": {"created": "x", "salt": "x", "hash": "x"}}}', /is not valid: bad entry for user "Bad Name"$/],
    ['{"users": {"bob": {"created": "x", "salt": 1, "hash": "x"}}}', /is not valid: bad entry for user "bob"$/],
  ];
  for (const [text, message] of cases) {
    writeFileSync(file, text);
    t.throws(() => loadUsers(dir), { name: 'UserError', message, hint }, text);
    await t.rejects(addUser(dir, 'carol'), { message }, 'nothing is added to a damaged file');
  }
});

t.test('createUsersReader follows the file and keeps the last good users when it breaks', async (t) => {
  const dir = dataDir(t);
  const errors: unknown[] = [];
  const read = createUsersReader(dir, (error) => errors.push(error));
  t.equal(read().size, 0, 'no file: nobody');
  const alice = await addUser(dir, 'alice');
  t.ok(verifyUser(read(), 'alice', alice), 'a new user is seen');
  const first = read();
  t.equal(read(), first, 'unchanged file: not re-read');
  const bob = await addUser(dir, 'bob');
  t.ok(verifyUser(read(), 'bob', bob));
  writeFileSync(usersFilePath(dir), 'garbage');
  t.ok(verifyUser(read(), 'bob', bob), 'a broken file leaves the last good users');
  read();
  t.equal(errors.length, 1, 'reported once per change');
  t.match(String(errors[0]), /the users file .* is not valid/);
  rmSync(usersFilePath(dir));
  t.equal(read().size, 0, 'a deleted file: nobody');
});

// A separate plain node process that loads users.ts as built (dist/), says "ready", waits for a line on stdin
// and then adds its users one after another.
const ADDER = `
const [url, dir, ...names] = process.argv.slice(1);
const { addUser } = await import(url);
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  for (const name of names) await addUser(dir, name);
  process.stdin.destroy();
});
`;

t.test('users added by separate processes at the same moment are all kept', async (t) => {
  const dir = dataDir(t);
  const url = compiledModule('src/adapters/state/users.ts');
  const processes = 8;
  const each = 5;
  const children = Array.from({ length: processes }, (_, p) => {
    const names = Array.from({ length: each }, (_, i) => `user${p}-${i}`);
    const child = spawn(process.execPath, ['--input-type=module', '-e', ADDER, url, dir, ...names], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.teardown(() => child.kill());
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes('ready')) resolve();
      });
      child.on('close', () => reject(new Error(`an adder exited before it was ready: ${stderr}`)));
    });
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
    return { child, ready, exited };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.write('go\n');
  for (const { exited } of children) {
    const { code, stderr } = await exited;
    t.equal(code, 0, stderr);
  }
  const expected = Array.from({ length: processes * each }, (_, n) => `user${Math.floor(n / each)}-${n % each}`).sort();
  t.same(listUsers(dir).map((u) => u.name).sort(), expected, `all ${processes * each} users are there`);
  t.same(readdirSync(path.join(dir, 'locks')), [], 'the users lock is released');
});

t.test('a user change waits for the users lock', async (t) => {
  const dir = dataDir(t);
  await addUser(dir, 'amy');
  const held = await acquireLock(dir, 'users', { holder: 'someone', purpose: 'user change' }, { waitMs: 0 });
  let settled = false;
  const adding = addUser(dir, 'bob').finally(() => (settled = true));
  const removing = removeUser(dir, 'amy');
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.notOk(settled, 'still waiting');
  t.same(listUsers(dir).map((u) => u.name), ['amy'], 'nothing written meanwhile');
  await held.release();
  t.match(await adding, /^[A-Za-z0-9_-]{43}$/);
  await removing;
  t.same(listUsers(dir).map((u) => u.name), ['bob']);
});

t.test('a users lock left by a dead process does not block', async (t) => {
  const dir = dataDir(t);
  const dead = spawnSync('true').pid ?? 999999;
  mkdirSync(path.join(dir, 'locks'), { recursive: true });
  writeFileSync(path.join(dir, 'locks', 'users.lock'), JSON.stringify({ pid: dead, holder: 'ghost', purpose: 'user change', since: 'then' }));
  const started = Date.now();
  await addUser(dir, 'alice');
  await removeUser(dir, 'alice');
  await addUser(dir, 'bob');
  t.ok(Date.now() - started < 5000, 'not after waiting for the dead holder');
  t.same(listUsers(dir).map((u) => u.name), ['bob']);
  t.same(readdirSync(path.join(dir, 'locks')), []);
});
