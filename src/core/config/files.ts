/**
 * Files the configuration names, checked before a command relies on them (not when first used, half-way
 * through a deploy). Pure: which files a command needs, and the words for what is wrong with one; the
 * adapter (adapters/config/config-files.ts) looks at the files.
 */
import { COLOURS } from '../colour.js';
import type { Config } from './types.js';

/**
 * What a command is about to do that needs files: log in to the ssh:// hosts as the deploy user (serve,
 * releases, activate), serve HTTPS (serve), log in as the administrator (provision).
 */
export type ConfigNeed = 'deploy-ssh' | 'tls' | 'admin-key';

/** What `bluegreen serve` needs, at start and at every reload. */
export const SERVE_NEEDS: readonly ConfigNeed[] = ['deploy-ssh', 'tls'];

export type FileKind = 'data-dir' | 'deploy-key' | 'admin-key' | 'known-hosts' | 'tls-cert' | 'tls-key';

export interface FileRequirement {
  variable: string;
  path: string;
  kind: FileKind;
}

/** What the adapter found at a required path. */
export type FileFact =
  | { state: 'ok' }
  | { state: 'missing' }
  /** A directory where a file belongs, or (for the data dir) a non-directory where a directory belongs. */
  | { state: 'wrong-type'; at: string }
  | { state: 'unreadable'; code: string }
  | { state: 'bad-content'; why: string };

/** The files `needs` depend on, given this configuration. The data dir is always needed. */
export function requiredFiles(config: Config, needs: readonly ConfigNeed[]): FileRequirement[] {
  const files: FileRequirement[] = [{ variable: 'BLUEGREEN_DATA_DIR', path: config.dataDir, kind: 'data-dir' }];
  const sshHosts = config.discovery !== undefined || COLOURS.some((colour) => config.hosts[colour].some((host) => host.kind === 'ssh'));
  if (needs.includes('deploy-ssh') && sshHosts) {
    files.push({ variable: 'BLUEGREEN_SSH_KEY', path: config.sshKeyPath, kind: 'deploy-key' });
    files.push({ variable: 'BLUEGREEN_KNOWN_HOSTS', path: config.knownHostsPath, kind: 'known-hosts' });
  }
  if (needs.includes('tls') && config.tls) {
    files.push({ variable: 'BLUEGREEN_TLS_CERT', path: config.tls.cert, kind: 'tls-cert' });
    files.push({ variable: 'BLUEGREEN_TLS_KEY', path: config.tls.key, kind: 'tls-key' });
  }
  if (needs.includes('admin-key') && config.admin.keyPath) {
    files.push({ variable: 'BLUEGREEN_ADMIN_KEY', path: config.admin.keyPath, kind: 'admin-key' });
  }
  return files;
}

const WHAT: Record<FileKind, string> = {
  'data-dir': 'the data dir',
  'deploy-key': 'the deploy key',
  'admin-key': 'the administrator key',
  'known-hosts': 'the known_hosts file',
  'tls-cert': 'the TLS certificate',
  'tls-key': 'the TLS private key',
};

/** How to make a missing file. */
function howToCreate(file: FileRequirement, config: Config): string {
  switch (file.kind) {
    case 'deploy-key':
      return `create it with \`bluegreen init\`, or set ${file.variable} to an existing private key`;
    case 'admin-key':
      return `set ${file.variable} to the administrator's private key, or unset it to log in with the SSH agent`;
    case 'known-hosts': {
      const scans = COLOURS.flatMap((colour) =>
        config.hosts[colour].flatMap((host) => (host.kind === 'ssh' ? [`ssh-keyscan -p ${host.port} ${host.host} >> ${file.path}`] : [])),
      );
      // Hosts found by tag or scale set are known by their addresses only when they are looked up.
      if (config.discovery) scans.push(`ssh-keyscan <each host's address> >> ${file.path}`);
      return (
        'every ssh:// host key is checked against it. Record them with `bluegreen provision blue --host-key SHA256:…` ' +
        '(and green), giving the fingerprint read on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), ' +
        `or with \`${[...new Set(scans)].join('` and `')}\` after checking that \`ssh-keygen -lf ${file.path}\` shows those same fingerprints`
      );
    }
    default:
      return `set ${file.variable} to a readable PEM file`;
  }
}

/** The problem with one required file, naming its variable; undefined when it is fine. */
export function fileProblem(file: FileRequirement, fact: FileFact, config: Config): string | undefined {
  const what = `${file.variable}: ${WHAT[file.kind]} ${file.path}`;
  switch (fact.state) {
    case 'ok':
      return undefined;
    case 'missing':
      return `${what} does not exist: ${howToCreate(file, config)}`;
    case 'wrong-type':
      return file.kind === 'data-dir'
        ? `${what} cannot be a directory: ${fact.at} is not a directory`
        : `${what} is a directory, not a file`;
    case 'unreadable':
      return `${what} cannot be read (${fact.code})`;
    case 'bad-content':
      return `${what} ${fact.why}`;
  }
}

/** When both TLS files are fine on their own but do not belong together. */
export function tlsMismatchProblem(tls: { cert: string; key: string }): string {
  return `BLUEGREEN_TLS_KEY: the TLS private key ${tls.key} is not the key of the certificate ${tls.cert} (BLUEGREEN_TLS_CERT)`;
}
