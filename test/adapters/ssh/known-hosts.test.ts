import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHostKey,
  fingerprint,
  hostKeyName,
  keyType,
  knownHostsLine,
  knownKeyTypes,
} from '../../../src/adapters/ssh/known-hosts.js';
import { startSshd } from '../../helpers/sshd.js';

const dir = mkdtempSync(join(tmpdir(), 'bluegreen-known-hosts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Key {
  path: string;
  line: string; // `type base64`
  type: string;
  blob: Buffer;
}

let counter = 0;
function makeKey(type: 'ed25519' | 'rsa' | 'ecdsa'): Key {
  const path = join(dir, `key${counter++}`);
  const extra = type === 'rsa' ? ['-b', '2048'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', 'test', '-f', path]);
  const [keyTypeName, base64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  return { path, line: `${keyTypeName} ${base64}`, type: keyTypeName, blob: Buffer.from(base64, 'base64') };
}

const ed = makeKey('ed25519');
const rsa = makeKey('rsa');
const ecdsa = makeKey('ecdsa');
const other = makeKey('ed25519');

/** Hashes a known_hosts text with the real `ssh-keygen -H`. */
function hashWithSshKeygen(text: string): string {
  const file = join(dir, `kh${counter++}`);
  writeFileSync(file, text);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  return readFileSync(file, 'utf8');
}

t.test('fingerprint equals what `ssh-keygen -lf` prints, for each key type', async (t) => {
  for (const key of [ed, rsa, ecdsa]) {
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key.path}.pub`], { encoding: 'utf8' });
    const expected = printed.split(/\s+/)[1];
    t.equal(fingerprint(key.blob), expected, key.type);
    t.notMatch(fingerprint(key.blob), /=/);
  }
});

t.test('keyType reads the type from the blob', async (t) => {
  t.equal(keyType(ed.blob), 'ssh-ed25519');
  t.equal(keyType(rsa.blob), 'ssh-rsa');
  t.equal(keyType(ecdsa.blob), 'ecdsa-sha2-nistp256');
  t.throws(() => keyType(Buffer.from([0, 0])), { message: 'not an SSH public key blob: too short' });
  t.throws(() => keyType(Buffer.from('garbage-that-is-not-a-key')), {
    message: 'not an SSH public key blob: bad key type field',
  });
  t.throws(() => keyType(Buffer.from([0, 0, 0, 3, 0x20, 0x0a, 0x00])), {
    message: 'not an SSH public key blob: bad key type field',
  });
});

t.test('hostKeyName: bare on port 22, [host]:port otherwise, lower-cased', async (t) => {
  t.equal(hostKeyName('Example.COM', 22), 'example.com');
  t.equal(hostKeyName('127.0.0.2', 2222), '[127.0.0.2]:2222');
});

t.test('knownHostsLine writes lines that `ssh-keygen -F` finds', async (t) => {
  t.equal(knownHostsLine('example.com', 22, ed.blob), `example.com ${ed.line}`);
  t.equal(knownHostsLine('127.0.0.2', 2222, rsa.blob), `[127.0.0.2]:2222 ${rsa.line}`);
  const file = join(dir, 'kh-line');
  writeFileSync(file, `${knownHostsLine('127.0.0.2', 2222, ecdsa.blob)}\n`);
  const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.2]:2222', '-f', file], { encoding: 'utf8' });
  t.match(found, ecdsa.line);
});

t.test('plain names, lists, ports', async (t) => {
  const text = [
    '# a comment',
    '',
    `   `,
    `alpha.example,10.0.0.1 ${ed.line} comment words here`,
    `[127.0.0.2]:2222 ${rsa.line}`,
  ].join('\n');
  t.same(checkHostKey(text, 'alpha.example', 22, ed.blob), { status: 'trusted' });
  t.same(checkHostKey(text, 'ALPHA.example', 22, ed.blob), { status: 'trusted' }, 'names are case-insensitive');
  t.same(checkHostKey(text, '10.0.0.1', 22, ed.blob), { status: 'trusted' }, 'second name in a list');
  t.same(checkHostKey(text, '10.0.0.1', 22, other.blob), { status: 'changed' });
  t.same(checkHostKey(text, 'alpha.example', 2200, ed.blob), { status: 'unknown' }, 'other port, other host');
  t.same(checkHostKey(text, '127.0.0.2', 2222, rsa.blob), { status: 'trusted' });
  t.same(checkHostKey(text, '127.0.0.2', 2222, ed.blob), { status: 'changed' });
  t.same(checkHostKey(text, '127.0.0.2', 22, rsa.blob), { status: 'unknown' }, '[host]:port is not port 22');
  t.same(checkHostKey(text, 'beta.example', 22, ed.blob), { status: 'unknown' });
  t.same(checkHostKey('', 'alpha.example', 22, ed.blob), { status: 'unknown' });
});

t.test('a host with several keys is trusted for any of them, CRLF files too', async (t) => {
  const text = `h ${ed.line}\r\nh ${rsa.line}\r\n`;
  t.same(checkHostKey(text, 'h', 22, ed.blob), { status: 'trusted' });
  t.same(checkHostKey(text, 'h', 22, rsa.blob), { status: 'trusted' });
  t.same(checkHostKey(text, 'h', 22, ecdsa.blob), { status: 'changed' });
});

t.test('wildcards and negation', async (t) => {
  const text = `*.example,!bad.example ${ed.line}\n[10.0.0.?]:2222 ${rsa.line}\n`;
  t.same(checkHostKey(text, 'web1.example', 22, ed.blob), { status: 'trusted' });
  t.same(checkHostKey(text, 'bad.example', 22, ed.blob), { status: 'unknown' });
  t.same(checkHostKey(text, 'example', 22, ed.blob), { status: 'unknown' });
  t.same(checkHostKey(text, '10.0.0.7', 2222, rsa.blob), { status: 'trusted' });
  t.same(checkHostKey(text, '10.0.0.17', 2222, rsa.blob), { status: 'unknown' });
});

t.test('hashed entries made by `ssh-keygen -H` match by HMAC-SHA1', async (t) => {
  const hashed = hashWithSshKeygen(`alpha.example ${ed.line}\n[127.0.0.2]:2222 ${rsa.line}\n`);
  t.notMatch(hashed, /alpha|127\.0\.0\.2/, 'names are really hashed');
  t.match(hashed, /^\|1\|/m);
  t.same(checkHostKey(hashed, 'alpha.example', 22, ed.blob), { status: 'trusted' });
  t.same(checkHostKey(hashed, 'alpha.example', 22, other.blob), { status: 'changed' });
  t.same(checkHostKey(hashed, '127.0.0.2', 2222, rsa.blob), { status: 'trusted' });
  t.same(checkHostKey(hashed, '127.0.0.2', 2223, rsa.blob), { status: 'unknown' });
  t.same(checkHostKey(hashed, 'beta.example', 22, ed.blob), { status: 'unknown' });
});

t.test('malformed hashed names and lines are skipped, not fatal', async (t) => {
  const text = [
    `|1|notbase64|x ${ed.line}`,
    `|2|c2FsdA==|aGFzaA== ${ed.line}`,
    `|1|c2FsdA==|c2hvcnQ= ${ed.line}`,
    `onlyhost`,
    `host2 ssh-ed25519`,
    `host3 ssh-ed25519 !!!notbase64!!!`,
    `host4 ssh-rsa ${ed.line.split(' ')[1]}`,
    `@unknown-marker host5 ${ed.line}`,
  ].join('\n');
  for (const host of ['alpha', 'onlyhost', 'host2', 'host3', 'host4', 'host5']) {
    t.same(checkHostKey(text, host, 22, ed.blob), { status: 'unknown' }, host);
  }
});

t.test('@revoked keys are never trusted, even when also listed plainly', async (t) => {
  const text = `@revoked * ${ed.line}\nalpha ${ed.line}\nalpha ${rsa.line}\n`;
  t.same(checkHostKey(text, 'alpha', 22, ed.blob), { status: 'revoked' });
  t.same(checkHostKey(text, 'alpha', 22, rsa.blob), { status: 'trusted' });
  t.same(checkHostKey(text, 'beta', 22, ed.blob), { status: 'revoked' }, 'revoked for every host by *');
  t.same(checkHostKey(text, 'beta', 22, rsa.blob), { status: 'unknown' }, 'a revoked line alone makes no host known');
  const hashedRevoked = `@revoked ${hashWithSshKeygen(`alpha ${ed.line}\n`).trim()}\n`;
  t.same(checkHostKey(hashedRevoked, 'alpha', 22, ed.blob), { status: 'revoked' });
});

t.test('@cert-authority lines are ignored', async (t) => {
  const text = `@cert-authority *.example ${ed.line}\n`;
  t.same(checkHostKey(text, 'web.example', 22, ed.blob), { status: 'unknown' });
});

t.test('real ssh-keyscan output against a real sshd', async (t) => {
  const sshd = await startSshd({ address: '127.0.0.2' }, t);
  const scanned = execFileSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(sshd.port), sshd.host], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const blob = Buffer.from(sshd.hostPublicKey.split(' ')[1]!, 'base64');
  t.same(checkHostKey(scanned, sshd.host, sshd.port, blob), { status: 'trusted' });
  t.same(checkHostKey(scanned, sshd.host, sshd.port, other.blob), { status: 'changed' });
  t.equal(`${knownHostsLine(sshd.host, sshd.port, blob)}\n`, readFileSync(sshd.knownHostsPath, 'utf8'));
  const hashedScan = execFileSync('ssh-keyscan', ['-H', '-t', 'ed25519', '-p', String(sshd.port), sshd.host], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.match(hashedScan, /^\|1\|/m);
  t.same(checkHostKey(hashedScan, sshd.host, sshd.port, blob), { status: 'trusted' });
  // Real OpenSSH agrees that a line we wrote trusts the host.
  const ours = join(sshd.dir, 'ours_known_hosts');
  writeFileSync(ours, `${knownHostsLine(sshd.host, sshd.port, blob)}\n`);
  const out = execFileSync(
    'ssh',
    [
      '-i', sshd.clientKeyPath,
      '-o', `UserKnownHostsFile=${ours}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-p', String(sshd.port),
      `${sshd.user}@${sshd.host}`,
      'echo ok',
    ],
    { encoding: 'utf8' },
  );
  t.equal(out, 'ok\n');
});

t.test('knownKeyTypes lists the trusted key types for a host, in file order', async (t) => {
  const text = `@revoked h ${ed.line}\n[h]:2222 ${ecdsa.line}\n[h]:2222 ${rsa.line}\n[h]:2222 ${ecdsa.line}\nother ${ed.line}\n`;
  t.same(knownKeyTypes(text, 'h', 2222), ['ecdsa-sha2-nistp256', 'ssh-rsa']);
  t.same(knownKeyTypes(text, 'h', 22), []);
});
