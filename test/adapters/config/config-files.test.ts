import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkConfigFiles } from '../../../src/adapters/config/config-files.js';
import { type Config, type Env, parseConfig } from '../../../src/core/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-config-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

// Real material: an OpenSSH key, one with a passphrase, a certificate with its key, another key.
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', at('id_ed25519')]);
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-passphrase', '-f', at('id_locked')]);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=bluegreen', '-days', '1', '-keyout', at('tls.key'), '-out', at('tls.crt'));
openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('other.key'));
openssl('pkey', '-in', at('other.key'), '-aes256', '-passout', 'pass:secret-passphrase', '-out', at('locked.key'));
writeFileSync(at('known_hosts'), '');
writeFileSync(at('a-file'), 'not a directory\n');
writeFileSync(at('garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
mkdirSync(at('a-dir'));
symlinkSync(at('loop'), at('loop'));

const ssh = { BLUE_HOST: 'ssh://deploy@127.0.0.2:2222', GREEN_HOST: 'ssh://deploy@127.0.0.3' };
const good = { BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_SSH_KEY: at('id_ed25519'), BLUEGREEN_KNOWN_HOSTS: at('known_hosts') };
function configOf(env: Env): Config {
  const result = parseConfig(env, dir);
  if (!result.config) throw new Error(result.errors.join('\n'));
  return result.config;
}
const problems = (env: Env, needs: Parameters<typeof checkConfigFiles>[1] = ['deploy-ssh', 'tls', 'admin-key']) => checkConfigFiles(configOf(env), needs);

t.test('all present and usable: no problems; files are only checked when needed', async (t) => {
  t.same(problems({ ...ssh, ...good, BLUEGREEN_TLS_CERT: at('tls.crt'), BLUEGREEN_TLS_KEY: at('tls.key'), BLUEGREEN_ADMIN_KEY: at('id_ed25519') }), []);
  t.same(problems({ BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_SSH_KEY: at('missing') }), [], 'no ssh:// hosts: no deploy key needed');
  t.same(problems({ ...ssh, BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('missing') , BLUEGREEN_TLS_KEY: at('missing') }, []), [], 'history needs neither');
  t.same(problems({ BLUEGREEN_DATA_DIR: at('new/deeper/data') }), [], 'a data dir that does not exist yet is made');
});

t.test('missing files: each named with its variable and how to make it', async (t) => {
  const missing = problems({ ...ssh, BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('no.crt'), BLUEGREEN_TLS_KEY: at('no.key'), BLUEGREEN_ADMIN_KEY: at('no-admin') });
  t.same(missing, [
    `BLUEGREEN_SSH_KEY: the deploy key ${at('data/id_ed25519')} does not exist: create it with \`bluegreen init\`, or set BLUEGREEN_SSH_KEY to an existing private key`,
    `BLUEGREEN_KNOWN_HOSTS: the known_hosts file ${at('data/known_hosts')} does not exist: every ssh:// host key is checked against it. ` +
      'Record them with `bluegreen provision blue --host-key SHA256:…` (and green), giving the fingerprint read on the host itself ' +
      `(\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`), or with \`ssh-keyscan -p 2222 127.0.0.2 >> ${at('data/known_hosts')}\` and ` +
      `\`ssh-keyscan -p 22 127.0.0.3 >> ${at('data/known_hosts')}\` after checking that \`ssh-keygen -lf ${at('data/known_hosts')}\` shows those same fingerprints`,
    `BLUEGREEN_TLS_CERT: the TLS certificate ${at('no.crt')} does not exist: set BLUEGREEN_TLS_CERT to a readable PEM file`,
    `BLUEGREEN_TLS_KEY: the TLS private key ${at('no.key')} does not exist: set BLUEGREEN_TLS_KEY to a readable PEM file`,
    `BLUEGREEN_ADMIN_KEY: the administrator key ${at('no-admin')} does not exist: set BLUEGREEN_ADMIN_KEY to the administrator's private key, or unset it to log in with the SSH agent`,
  ]);
});

t.test('the wrong kind of file, or one that cannot be read', async (t) => {
  t.same(problems({ BLUEGREEN_DATA_DIR: at('a-file') }), [`BLUEGREEN_DATA_DIR: the data dir ${at('a-file')} cannot be a directory: ${at('a-file')} is not a directory`]);
  t.same(problems({ BLUEGREEN_DATA_DIR: at('a-file/sub/data') }), [`BLUEGREEN_DATA_DIR: the data dir ${at('a-file/sub/data')} cannot be a directory: ${at('a-file')} is not a directory`]);
  t.same(problems({ BLUEGREEN_DATA_DIR: at('loop') }), [`BLUEGREEN_DATA_DIR: the data dir ${at('loop')} cannot be read (ELOOP)`]);
  t.same(problems({ ...ssh, ...good, BLUEGREEN_KNOWN_HOSTS: at('a-dir') }), [`BLUEGREEN_KNOWN_HOSTS: the known_hosts file ${at('a-dir')} is a directory, not a file`]);
  t.same(problems({ ...ssh, ...good, BLUEGREEN_KNOWN_HOSTS: at('loop') }), [`BLUEGREEN_KNOWN_HOSTS: the known_hosts file ${at('loop')} cannot be read (ELOOP)`]);
});

t.test('keys and certificates are checked for what they hold, never quoting it', async (t) => {
  const found = [
    ...problems({ ...ssh, ...good, BLUEGREEN_SSH_KEY: at('known_hosts') }),
    ...problems({ ...ssh, ...good, BLUEGREEN_SSH_KEY: at('id_locked') }),
    ...problems({ ...ssh, ...good, BLUEGREEN_SSH_KEY: at('id_ed25519.pub') }),
    ...problems({ BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('tls.key'), BLUEGREEN_TLS_KEY: at('tls.crt') }),
    ...problems({ BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('garbage.pem'), BLUEGREEN_TLS_KEY: at('locked.key') }),
    ...problems({ BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('tls.crt'), BLUEGREEN_TLS_KEY: at('other.key') }),
  ];
  t.same(found, [
    `BLUEGREEN_SSH_KEY: the deploy key ${at('known_hosts')} is not a private key in OpenSSH or PEM format`,
    `BLUEGREEN_SSH_KEY: the deploy key ${at('id_locked')} is protected by a passphrase: bluegreen logs in unattended and needs a key without one`,
    `BLUEGREEN_SSH_KEY: the deploy key ${at('id_ed25519.pub')} is a public key: give the private key (the file without .pub)`,
    `BLUEGREEN_TLS_CERT: the TLS certificate ${at('tls.key')} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
    `BLUEGREEN_TLS_KEY: the TLS private key ${at('tls.crt')} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`,
    `BLUEGREEN_TLS_CERT: the TLS certificate ${at('garbage.pem')} holds a certificate that cannot be parsed`,
    `BLUEGREEN_TLS_KEY: the TLS private key ${at('locked.key')} is protected by a passphrase: the server starts unattended and needs a key without one`,
    `BLUEGREEN_TLS_KEY: the TLS private key ${at('other.key')} is not the key of the certificate ${at('tls.crt')} (BLUEGREEN_TLS_CERT)`,
  ]);
  const secrets = [readFileSync(at('id_ed25519'), 'utf8').split('\n')[1]!, readFileSync(at('tls.key'), 'utf8').split('\n')[1]!];
  for (const secret of secrets) t.notMatch(found.join('\n'), secret);
  // A PEM key that openssl cannot parse.
  writeFileSync(at('broken.key'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  t.same(problems({ BLUEGREEN_DATA_DIR: at('data'), BLUEGREEN_TLS_CERT: at('tls.crt'), BLUEGREEN_TLS_KEY: at('broken.key') }), [
    `BLUEGREEN_TLS_KEY: the TLS private key ${at('broken.key')} holds a private key that cannot be parsed`,
  ]);
});
