import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import t, { type Test } from 'tap';
import { acquireLock } from '../../../src/adapters/state/locks.js';
import { readPublicKeyFile } from '../../../src/adapters/ssh/public-key.js';
import {
  addUser,
  addUserKey,
  findKeyOwner,
  removeUserKey,
  setUserRole,
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
    t.same(Object.keys(user).sort(), ['created', 'keys', 'name', 'role'], 'names, times, roles and key fingerprints only');
    t.equal(user.role, 'deployer', 'the default role');
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

/** A fresh key pair's files: FILE (private) and FILE.pub. */
function keyFiles(t: Test, comment = 'test'): { privatePath: string; publicPath: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
  const privatePath = path.join(dir, 'id_ed25519');
  writeFileSync(privatePath, pair.private, { mode: 0o600 });
  writeFileSync(`${privatePath}.pub`, `${pair.public}\n`);
  return { privatePath, publicPath: `${privatePath}.pub` };
}

t.test('roles and SSH keys: stored with the user, one key one user, changes seen by a running reader', async (t) => {
  const dir = dataDir(t);
  const read = createUsersReader(dir, (error) => t.fail(String(error)));
  const aliceKey = readPublicKeyFile(keyFiles(t, 'alice@laptop').publicPath);
  const bobKey = readPublicKeyFile(keyFiles(t).publicPath);
  t.match(aliceKey.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.equal(aliceKey.line.split(' ').length, 2, 'the comment is not kept');
  await addUser(dir, 'alice', { key: aliceKey });
  await addUser(dir, 'vera', { role: 'viewer' });
  t.equal(findKeyOwner(read(), aliceKey.blob)?.user.name, 'alice');
  t.equal(read().get('vera')?.role, 'viewer');
  const taken = {
    name: 'UserError',
    message: `the SSH key ${aliceKey.fingerprint} already belongs to the user alice`,
    hint: 'a key says who pushes, so it belongs to one user: give each person their own key',
  };
  await t.rejects(addUser(dir, 'bob', { key: aliceKey }), taken);
  await t.rejects(addUserKey(dir, 'vera', aliceKey), taken);
  await t.rejects(addUserKey(dir, 'alice', aliceKey), taken, 'twice to the same user');
  await addUserKey(dir, 'vera', bobKey);
  t.same(listUsers(dir).map((u) => [u.name, u.role, u.keys]), [
    ['alice', 'deployer', [aliceKey.fingerprint]],
    ['vera', 'viewer', [bobKey.fingerprint]],
  ]);
  await t.rejects(removeUserKey(dir, 'alice', bobKey.fingerprint), {
    name: 'UserError',
    message: `the user alice has no SSH key ${bobKey.fingerprint}`,
    hint: `their keys: ${aliceKey.fingerprint} (\`bluegreen user list\` shows them; \`ssh-keygen -lf FILE.pub\` prints a key's fingerprint)`,
  });
  await removeUserKey(dir, 'alice', aliceKey.fingerprint);
  t.equal(findKeyOwner(read(), aliceKey.blob), undefined, 'a removed key is gone for a running reader');
  await t.rejects(removeUserKey(dir, 'alice', aliceKey.fingerprint), { message: `the user alice has no SSH key ${aliceKey.fingerprint}`, hint: /their keys: none/ });
  await setUserRole(dir, 'vera', 'operator');
  t.equal(read().get('vera')?.role, 'operator');
  const badRole = {
    name: 'UserError',
    exitCode: 2,
    message: 'bad role "admin": expected viewer, deployer, operator',
    hint: 'viewer fetches and clones; deployer also pushes (the default); operator also flips and rolls back',
  };
  await t.rejects(setUserRole(dir, 'vera', 'admin'), badRole);
  await t.rejects(addUser(dir, 'carol', { role: 'admin' }), badRole);
  await t.rejects(setUserRole(dir, 'nobody', 'viewer'), { message: 'there is no user "nobody"' });
  await t.rejects(addUserKey(dir, 'nobody', aliceKey), { message: 'there is no user "nobody"' });

  // A file from before roles and keys: its users are deployers without keys.
  writeFileSync(usersFilePath(dir), JSON.stringify({ users: { old: { created: 'x', salt: 'AAAAAAAAAAAAAAAAAAAAAA', hash: 'A'.repeat(43) } } }));
  t.same(listUsers(dir), [{ name: 'old', created: 'x', role: 'deployer', keys: [] }]);
});

t.test('readPublicKeyFile refuses what is not one public key', async (t) => {
  const { privatePath } = keyFiles(t);
  const dir = path.dirname(privatePath);
  t.throws(() => readPublicKeyFile(path.join(dir, 'missing.pub')), {
    name: 'UserError',
    exitCode: 2,
    message: `cannot read the SSH public key ${path.join(dir, 'missing.pub')}: ENOENT`,
    hint: "give the path of the user's public key, e.g. ~/.ssh/id_ed25519.pub",
  });
  const two = path.join(dir, 'two.pub');
  const one = readFileSync(`${privatePath}.pub`, 'utf8');
  writeFileSync(two, one + one);
  const junk = path.join(dir, 'junk.pub');
  writeFileSync(junk, 'ssh-ed25519 AAAAnotakey comment\n');
  for (const file of [privatePath, two, junk]) {
    t.throws(
      () => readPublicKeyFile(file),
      {
        name: 'UserError',
        exitCode: 2,
        message: `${file} is not one SSH public key (expected one line like "ssh-ed25519 AAAA… comment")`,
        hint: 'give the .pub file (never the private key), one key per file: ed25519, ecdsa or rsa',
      },
      path.basename(file),
    );
  }
  const commented = path.join(dir, 'commented.pub');
  writeFileSync(commented, `# my laptop\n\n${one}`);
  t.equal(readPublicKeyFile(commented).line, one.split(' ').slice(0, 2).join(' '));
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
    ['{"users": {"bob": {"created": "x", "salt": "x", "hash": "x", "role": "admin"}}}', /is not valid: bad role for user "bob"$/],
    ['{"users": {"bob": {"created": "x", "salt": "x", "hash": "x", "keys": ["ssh-ed25519 nope"]}}}', /is not valid: bad SSH key for user "bob"$/],
    ['{"users": {"bob": {"created": "x", "salt": "x", "hash": "x", "keys": "ssh-ed25519 AAAA"}}}', /is not valid: bad SSH key for user "bob"$/],
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
