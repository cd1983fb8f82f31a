/**
 * The SSH messages, word for word, for every case the transport and the host key scan can meet (the transport
 * tests provoke them against real sshds; these pin each wording and hint, including the cases a real sshd
 * cannot easily produce: each unreachable reason, the admin's agent login, a key that changed after the scan).
 */
import t from 'tap';
import { UserError } from '../../../src/core/errors.js';
import { fingerprint } from '../../../src/adapters/ssh/known-hosts.js';
import {
  channelOpenError,
  connectError,
  errorText,
  hostKeyError,
  lostConnectionError,
  pinnedHostKeyError,
  unreachableError,
  unreadableKeyError,
  unreadableKnownHostsError,
  unusableKeyError,
} from '../../../src/adapters/ssh/ssh-errors.js';

const KEY = Buffer.from('not a real key blob, only hashed');
const OFFERED = fingerprint(KEY);
const PLACE = { host: '10.0.0.5', port: 2222, hostPort: '10.0.0.5:2222' };

function errorWith(fields: { code?: string; level?: string; message?: string }): Error & { code?: string; level?: string } {
  return Object.assign(new Error(fields.message ?? 'boom'), fields);
}

t.test('unreachable: each network reason and a missing handshake, with the same hint; anything else is not "unreachable"', async (t) => {
  const hint = 'is the host up and sshd listening on port 2222? check BLUE_HOST / GREEN_HOST';
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    EHOSTDOWN: 'host is down',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
  };
  for (const [code, reason] of Object.entries(reasons)) {
    const cause = errorWith({ code });
    const error = unreachableError('10.0.0.5:2222', 2222, cause, 20_000);
    t.type(error, UserError);
    t.match(error, { message: `cannot reach 10.0.0.5:2222 (${reason})`, hint, cause }, code);
  }
  t.match(unreachableError('[::1]:22', 22, errorWith({ level: 'client-timeout' }), 300), {
    message: 'cannot reach [::1]:22 (no SSH handshake within 0.3 s)',
    hint: 'is the host up and sshd listening on port 22? check BLUE_HOST / GREEN_HOST',
  });
  t.equal(unreachableError('10.0.0.5:2222', 2222, errorWith({ code: 'ECONNRESET' }), 20_000), undefined);
  t.equal(unreachableError('10.0.0.5:2222', 2222, errorWith({ level: 'client-authentication' }), 20_000), undefined);
});

t.test('host keys: unknown, revoked and changed name the host, the fingerprint and the fix', async (t) => {
  const where = { ...PLACE, knownHostsPath: '/data/known_hosts' };
  t.match(hostKeyError('unknown', KEY, where), {
    message: `host key of 10.0.0.5:2222 is not known: it offered ${OFFERED}`,
    hint: `check the fingerprint, then add it: ssh-keyscan -p 2222 10.0.0.5 >> /data/known_hosts (or \`bluegreen provision blue|green --host-key ${OFFERED}\`)`,
  });
  t.match(hostKeyError('revoked', KEY, where), {
    message: `host key of 10.0.0.5:2222 is REVOKED: it offered ${OFFERED}, which /data/known_hosts marks @revoked`,
    hint: 'the host must get a new host key; check its fingerprint out of band, then trust it',
  });
  t.match(hostKeyError('changed', KEY, where), {
    message:
      `host key of 10.0.0.5:2222 has CHANGED: it offered ${OFFERED}, which does not match /data/known_hosts; ` +
      'someone may be intercepting the connection (man-in-the-middle), or the host was rebuilt',
    hint:
      "if the host was rebuilt, check the new fingerprint out of band, remove the old entry (ssh-keygen -R '[10.0.0.5]:2222' -f /data/known_hosts), " +
      'then add the new one: ssh-keyscan -p 2222 10.0.0.5 >> /data/known_hosts',
  });
  t.match(pinnedHostKeyError('10.0.0.5:2222', KEY), {
    message: `host key of 10.0.0.5:2222 changed between the scan and the login: it offered ${OFFERED}`,
    hint: 'someone may be intercepting the connection; check the host, then run provision again',
  });
});

t.test('connecting: unreachable first, then the admin or deploy login refused, else not an SSH server', async (t) => {
  const how = { ...PLACE, user: 'deploy', login: undefined, privateKeyPath: '/data/id_ed25519', withKey: true, readyTimeoutMs: 1500 };
  t.match(connectError(errorWith({ level: 'client-timeout' }), how), { message: 'cannot reach 10.0.0.5:2222 (no SSH handshake within 1.5 s)' });
  const refused = errorWith({ level: 'client-authentication', message: 'All configured authentication methods failed' });
  t.match(connectError(refused, how), {
    message: 'SSH login as deploy@10.0.0.5:2222 was refused: the server accepted none of our keys (All configured authentication methods failed)',
    hint: 'is the deploy key (/data/id_ed25519.pub) authorized for deploy on 10.0.0.5? `bluegreen provision` installs it',
    cause: refused,
  });
  t.match(connectError(refused, { ...how, privateKeyPath: undefined }), {
    hint: 'is the deploy key authorized for deploy on 10.0.0.5? `bluegreen provision` installs it',
  });
  const admin = { ...how, user: 'root', login: 'admin' as const, privateKeyPath: '/keys/admin' };
  t.match(connectError(refused, admin), {
    message: 'the admin login root@10.0.0.5:2222 was refused: the server accepted none of our credentials',
    hint: "is /keys/admin's public key in ~root/.ssh/authorized_keys on the host? (BLUEGREEN_ADMIN_KEY, BLUEGREEN_ADMIN_USER)",
  });
  t.match(connectError(refused, { ...admin, withKey: false, privateKeyPath: undefined }), {
    hint: 'does the SSH agent (SSH_AUTH_SOCK) hold a key authorized for root on the host? or set BLUEGREEN_ADMIN_KEY',
  });
  t.match(connectError(errorWith({ level: 'protocol', message: 'Bad identification start' }), how), {
    message: 'cannot open an SSH connection to deploy@10.0.0.5:2222: Bad identification start',
    hint: 'is 10.0.0.5:2222 an SSH server?',
  });
});

t.test('keys: unreadable or unusable, for the deploy login and the admin', async (t) => {
  const missing = errorWith({ message: "ENOENT: no such file or directory, open '/data/id'" });
  t.match(unreadableKeyError('/data/id', missing), {
    message: "cannot read the SSH key /data/id: ENOENT: no such file or directory, open '/data/id'",
    hint: 'set BLUEGREEN_SSH_KEY to a readable private key, or create one with `bluegreen init`',
    cause: missing,
  });
  t.match(unreadableKnownHostsError('/data/known_hosts', 'EISDIR'), {
    message: 'cannot read the known_hosts file /data/known_hosts: EISDIR',
    hint: 'set BLUEGREEN_KNOWN_HOSTS to a readable OpenSSH known_hosts file',
  });
  const unsupported = errorWith({ message: 'Unsupported key format' });
  t.match(unusableKeyError(unsupported, { login: 'deploy', privateKeyPath: '/data/id.pub' }), {
    message: 'the SSH key /data/id.pub cannot be used: Unsupported key format',
    hint: 'it must be an unencrypted private key (OpenSSH or PEM format); `bluegreen init` writes one',
    exitCode: 2,
  });
  t.match(unusableKeyError(unsupported, { login: undefined, privateKeyPath: undefined }), { message: 'the SSH key (deploy key) cannot be used: Unsupported key format' });
  t.match(unusableKeyError(unsupported, { login: 'admin', privateKeyPath: '/keys/admin' }), {
    message: 'the admin key /keys/admin cannot be used: Unsupported key format',
    hint: 'BLUEGREEN_ADMIN_KEY must be an unencrypted private key (OpenSSH or PEM); for a key with a passphrase, load it into ssh-agent and unset BLUEGREEN_ADMIN_KEY',
    exitCode: 2,
  });
});

t.test('commands: a refused channel and a lost connection name the command, on one line of at most 80 characters', async (t) => {
  t.match(channelOpenError('deploy@10.0.0.5:2222', 'true', errorWith({ message: '(SSH) Channel open failure: open failed' })), {
    message: 'could not start `true` on deploy@10.0.0.5:2222: (SSH) Channel open failure: open failed',
    hint: 'the host may limit concurrent SSH sessions (sshd_config MaxSessions)',
  });
  const long = `sh -c 'set -e\n  ${'x'.repeat(100)}'`;
  const lost = lostConnectionError('deploy@10.0.0.5:2222', long);
  t.equal(lost.message, `lost the SSH connection to deploy@10.0.0.5:2222 while running \`${`sh -c 'set -e ${'x'.repeat(100)}'`.slice(0, 77)}...\``);
  t.equal(lost.hint, 'the command may or may not have finished on the host; check the host, then run it again');
  t.equal(errorText('plain'), 'plain');
  t.equal(errorText(new Error('wrapped')), 'wrapped');
});
