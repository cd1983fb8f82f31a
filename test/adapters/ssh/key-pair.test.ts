import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import t from 'tap';
import { ensureKeyPair, generateKeyPair } from '../../../src/adapters/ssh/key-pair.js';
import { compiledModule } from '../../helpers/bluegreen.js';

t.test('ensureKeyPair makes a private key (0600) and its .pub once; later calls keep it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-keypair-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'sub', 'id_ed25519');
  t.same(ensureKeyPair(key, 'test'), { created: true });
  const first = readFileSync(key, 'utf8');
  t.equal(statSync(key).mode & 0o777, 0o600);
  t.same(ensureKeyPair(key, 'test'), { created: false });
  t.equal(readFileSync(key, 'utf8'), first, 'kept');
  const parsed = ssh2.utils.parseKey(first);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('not a key');
  t.equal(readFileSync(`${key}.pub`, 'utf8').split(' ')[1], parsed.getPublicSSH().toString('base64'), 'the .pub is of that key');
});

t.test('every key pair made parses (ssh2 alone writes an unparseable ed25519 key about 1 time in 300)', async (t) => {
  let unparseable = 0;
  for (let i = 0; i < 1000; i++) {
    const parsed = ssh2.utils.parseKey(generateKeyPair('test').private);
    if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) unparseable++;
  }
  t.equal(unparseable, 0);
});

t.test('processes racing to make the key pair agree on one: every one finds a whole key, and the .pub matches it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-keypair-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'id_ed25519');
  const module = compiledModule('src/adapters/ssh/key-pair.ts');
  const script = `const { ensureKeyPair } = await import(${JSON.stringify(module)}); const fs = await import('node:fs'); ensureKeyPair(process.argv[1], 'race'); process.stdout.write(fs.readFileSync(process.argv[1], 'utf8'));`;
  const read = await Promise.all(
    Array.from({ length: 6 }, () => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, key], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
    })),
  );
  t.equal(new Set(read).size, 1, 'all read the same key');
  t.match(read[0], /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  const parsed = ssh2.utils.parseKey(read[0] ?? '');
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('not a key');
  t.equal(readFileSync(`${key}.pub`, 'utf8').split(' ')[1], parsed.getPublicSSH().toString('base64'));
});
