import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensureHostKey, hostKeyPath } from '../../../src/adapters/ssh/host-key.js';

t.test('the host key is made once, private, and kept', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-hostkey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');
  const first = ensureHostKey(dataDir);
  t.equal(statSync(hostKeyPath(dataDir)).mode & 0o777, 0o600);
  t.equal(statSync(dataDir).mode & 0o777, 0o700);
  t.match(first.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.match(first.publicKey, /^ssh-ed25519 AAAA/);
  t.same(ensureHostKey(dataDir), first, 'the same key on the next start');

  writeFileSync(hostKeyPath(dataDir), 'not a key\n');
  t.throws(() => ensureHostKey(dataDir), {
    name: 'UserError',
    message: `the SSH host key ${hostKeyPath(dataDir)} is not a private key without a passphrase`,
    hint: 'remove it (and its .pub) and start again to make a new one; clients will then have to trust the new key',
  });
});
