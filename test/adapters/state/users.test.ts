import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  addUser,
  createUsersReader,
  listUsers,
  loadUsers,
  removeUser,
  usersFilePath,
  verifyUser,
} from '../../../src/adapters/state/users.js';

function dataDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'data');
}

t.test('addUser returns a fresh token once and keeps only a salted hash, in a private file', async (t) => {
  const dir = dataDir(t);
  const token = addUser(dir, 'alice');
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url');
  const other = addUser(dir, 'bob');
  t.not(other, token);
  const file = usersFilePath(dir);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  t.notMatch(text, token, 'the token itself is not stored');
  t.notMatch(text, other);
  const stored = JSON.parse(text) as { users: Record<string, { created: string; salt: string; hash: string }> };
  t.same(Object.keys(stored.users), ['alice', 'bob']);
  t.not(stored.users.alice?.salt, stored.users.bob?.salt);
  t.same(readdirSync(dir), ['users.json'], 'no temporary files are left behind');

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
  addUser(dir, 'alice');
  t.throws(() => addUser(dir, 'alice'), {
    name: 'UserError',
    message: 'user "alice" already exists',
    hint: 'to give them a new token, run `bluegreen user remove alice` and add them again; see the existing users with `bluegreen user list`',
  });
  for (const name of ['Alice', '1alice', '', '-a', 'a b', '../x', 'a/b', 'al:ice', `a${'b'.repeat(32)}`, 'ålice']) {
    t.throws(
      () => addUser(dir, name),
      {
        name: 'UserError',
        exitCode: 2,
        message: `bad user name ${JSON.stringify(name)}: expected a lowercase letter followed by up to 31 lowercase letters, digits, _ or -`,
        hint: 'for example `bluegreen user add alice`',
      },
      JSON.stringify(name),
    );
  }
  t.doesNotThrow(() => addUser(dir, `a${'b'.repeat(31)}`), '32 characters');
  t.doesNotThrow(() => addUser(dir, 'deploy_bot-2'));
  t.same(
    listUsers(dir).map((u) => u.name),
    [`a${'b'.repeat(31)}`, 'alice', 'deploy_bot-2'],
  );
});

t.test('listUsers and removeUser', async (t) => {
  const dir = dataDir(t);
  t.same(listUsers(dir), [], 'no file yet: no users');
  addUser(dir, 'zed');
  addUser(dir, 'amy');
  const listed = listUsers(dir);
  t.same(
    listed.map((u) => u.name),
    ['amy', 'zed'],
  );
  for (const user of listed) {
    t.match(user.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    t.same(Object.keys(user).sort(), ['created', 'name'], 'names and times only');
  }
  removeUser(dir, 'zed');
  t.same(
    listUsers(dir).map((u) => u.name),
    ['amy'],
  );
  t.throws(() => removeUser(dir, 'zed'), {
    name: 'UserError',
    message: 'there is no user "zed"',
    hint: 'see the existing users with `bluegreen user list`',
  });
  t.equal(statSync(usersFilePath(dir)).mode & 0o777, 0o600);
});

t.test('a damaged users file is reported, naming the file', async (t) => {
  const dir = dataDir(t);
  addUser(dir, 'alice');
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
    t.throws(() => addUser(dir, 'carol'), { message }, 'nothing is added to a damaged file');
  }
});

t.test('createUsersReader follows the file and keeps the last good users when it breaks', async (t) => {
  const dir = dataDir(t);
  const errors: unknown[] = [];
  const read = createUsersReader(dir, (error) => errors.push(error));
  t.equal(read().size, 0, 'no file: nobody');
  const alice = addUser(dir, 'alice');
  t.ok(verifyUser(read(), 'alice', alice), 'a new user is seen');
  const first = read();
  t.equal(read(), first, 'unchanged file: not re-read');
  const bob = addUser(dir, 'bob');
  t.ok(verifyUser(read(), 'bob', bob));
  writeFileSync(usersFilePath(dir), 'garbage');
  t.ok(verifyUser(read(), 'bob', bob), 'a broken file leaves the last good users');
  read();
  t.equal(errors.length, 1, 'reported once per change');
  t.match(String(errors[0]), /the users file .* is not valid/);
  rmSync(usersFilePath(dir));
  t.equal(read().size, 0, 'a deleted file: nobody');
});
