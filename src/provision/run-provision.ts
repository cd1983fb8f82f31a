/**
 * `bluegreen provision`: for each colour, meet the host (host key rules), log in as the admin, and run
 * provisioning/provision.sh with its templates on it; or print the same as cloud-init user-data.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Colour } from '../core/colour.js';
import type { Config, HostTarget } from '../core/config.js';
import { resolveHosts } from '../deploy/resolve-hosts.js';
import { UserError } from '../core/errors.js';
import {
  SCRIPT_NAME,
  SCRIPT_PROTOCOL,
  SUDO_CHECK_ARGV,
  TEMPLATE_NAMES,
  WHOAMI_ARGV,
  adminAuthSource,
  bundleEntries,
  cloudInitSite,
  cloudInitUserData,
  decideHostKey,
  deployPublicKeyLine,
  parseScriptOutput,
  provisionTargets,
  remoteArgv,
  scriptArgs,
  scriptErrorHint,
  scriptInputs,
  type BundleFile,
  type ProvisionTarget,
  type StepResult,
} from '../core/provision-plan.js';
import { SshTransport } from '../adapters/ssh/ssh-transport.js';
import { scanHostKey } from '../adapters/ssh/host-key-scan.js';
import { checkHostKey, knownHostsLine } from '../adapters/ssh/known-hosts.js';
import { bundleTar } from './bundle-tar.js';

export interface ProvisionOptions {
  config: Config;
  colours: readonly Colour[];
  dryRun: boolean;
  /** `--host-key SHA256:...`: the fingerprint the user checked out of band. */
  hostKey?: string | undefined;
  /** `--accept-new-host-key`: trust a host's first key without checking it. */
  acceptNewHostKey: boolean;
  /** Progress, one line at a time. */
  say: (line: string) => void;
  /** BLUEGREEN_WEB_LISTEN (`PORT` or `IPV4:PORT`). Default: `config.webListen` when present, else `80`. */
  webListen?: string | undefined;
  /** Seconds apt waits for another package operation before provision reports "apt locked". Default 120. */
  aptLockTimeoutSeconds?: number | undefined;
  /** Where SSH_AUTH_SOCK is read from. Default process.env. */
  env?: Record<string, string | undefined>;
}

export interface HostProvisionResult {
  colour: Colour;
  /** `host:port`. */
  host: string;
  hostKey: { fingerprint: string; status: 'known' | 'recorded' | 'would record' };
  os: string | undefined;
  steps: StepResult[];
  /** Steps that changed (or would change, in a dry run). */
  changes: number;
}

export interface ProvisionResult {
  dryRun: boolean;
  hosts: HostProvisionResult[];
}

const HOST_KEY_FORMAT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** How the administrator logs in: a key file, or the SSH agent. */
type AdminCredentials = { privateKey: Buffer; privateKeyPath: string } | { agent: string };

/** The deploy key's public line (`${BLUEGREEN_SSH_KEY}.pub`), installed on the hosts. */
function readDeployPublicKey(config: Config): string {
  const pubPath = `${config.sshKeyPath}.pub`;
  let pubText: string;
  try {
    pubText = readFileSync(pubPath, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the deploy public key ${pubPath}: ${(error as Error).message}`, {
      exitCode: 2,
      hint: 'run `bluegreen init` to make a deploy key pair (BLUEGREEN_SSH_KEY and its .pub)',
      cause: error,
    });
  }
  return deployPublicKeyLine(pubText, pubPath);
}

/** The value for BLUEGREEN_WEB_LISTEN: the option, else the configuration's. */
function webListenOf(options: { config: Config; webListen?: string | undefined }): string {
  return options.webListen ?? options.config.webListen;
}

/** Each colour's hosts now: hosts found by tag or scale set are looked up, listed ones are as configured. */
async function hostsNow(config: Config, colours: readonly Colour[]): Promise<Partial<Record<Colour, HostTarget[]>>> {
  const hosts: Partial<Record<Colour, HostTarget[]>> = {};
  for (const colour of colours) hosts[colour] = await resolveHosts(config, colour);
  return hosts;
}

export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { config, dryRun } = options;
  if (options.hostKey !== undefined && !HOST_KEY_FORMAT.test(options.hostKey)) {
    throw new UserError(`--host-key ${JSON.stringify(options.hostKey)} is not a SHA256 fingerprint`, {
      exitCode: 2,
      hint: 'give it as `ssh-keygen -lf` prints it, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
    });
  }
  const targets = provisionTargets(config, options.colours, await hostsNow(config, options.colours));
  const deployPublicKey = readDeployPublicKey(config);
  const authSource = adminAuthSource(config.admin.keyPath, (options.env ?? process.env).SSH_AUTH_SOCK);
  let auth: AdminCredentials;
  if (authSource.kind === 'key') {
    try {
      auth = { privateKeyPath: authSource.path, privateKey: readFileSync(authSource.path) };
    } catch (error) {
      throw new UserError(`cannot read the admin key ${authSource.path}: ${(error as Error).message}`, {
        exitCode: 2,
        hint: 'set BLUEGREEN_ADMIN_KEY to a readable private key, or unset it to use the SSH agent',
        cause: error,
      });
    }
  } else {
    auth = { agent: authSource.socket };
  }
  const webListen = webListenOf(options);
  const tar = await bundleTar(bundleEntries(loadBundle()));

  const hosts: HostProvisionResult[] = [];
  for (const target of targets) {
    const inputs = scriptInputs(config, target, {
      deployPublicKey,
      webListen,
      dryRun,
      ...(options.aptLockTimeoutSeconds === undefined ? {} : { aptLockTimeoutSeconds: options.aptLockTimeoutSeconds }),
    });
    hosts.push(await provisionHost(target, scriptArgs(inputs), tar, auth, { ...options, oneOfSeveral: targets.length > 1 }));
  }
  return { dryRun, hosts };
}

async function provisionHost(
  target: ProvisionTarget,
  args: string[],
  tar: Buffer,
  auth: AdminCredentials,
  options: ProvisionOptions & { oneOfSeveral: boolean },
): Promise<HostProvisionResult> {
  const { config, dryRun, say } = options;
  const colour = target.colour;
  const hostPort = `${target.host}:${target.port}`;
  const prefix = `${colour}: `;

  // 1. Meet the host.
  const scanned = await scanHostKey({ host: target.host, port: target.port });
  say(`${prefix}${hostPort} offers host key ${scanned.fingerprint}`);
  const knownHosts = existsSync(config.knownHostsPath) ? readFileSync(config.knownHostsPath, 'utf8') : '';
  const check = checkHostKey(knownHosts, target.host, target.port, scanned.keyBlob).status;
  const decision = decideHostKey(
    check,
    scanned.fingerprint,
    { colour, host: target.host, port: target.port, knownHostsPath: config.knownHostsPath, oneOfSeveral: options.oneOfSeveral },
    { hostKey: options.hostKey, acceptNewHostKey: options.acceptNewHostKey },
  );
  let keyStatus: HostProvisionResult['hostKey']['status'] = 'known';
  if (decision.action === 'record') {
    if (dryRun) {
      keyStatus = 'would record';
      say(`${prefix}host key: would add it to ${config.knownHostsPath} (${decision.reason})`);
    } else {
      recordHostKey(config.knownHostsPath, knownHosts, knownHostsLine(target.host, target.port, scanned.keyBlob));
      keyStatus = 'recorded';
      say(`${prefix}host key: added to ${config.knownHostsPath} (${decision.reason})`);
    }
  } else {
    say(`${prefix}host key: already in ${config.knownHostsPath}`);
  }

  // 2. Log in as the admin.
  const admin = config.admin.user;
  // Exactly the host key just scanned and trusted: a dry run may not have recorded it in known_hosts.
  const connection = new SshTransport({ host: target.host, port: target.port, user: admin, ...auth, pinnedHostKey: scanned.keyBlob, login: 'admin' });
  try {
    const whoami = await connection.exec(WHOAMI_ARGV);
    const uid = whoami.stdout.trim();
    if (whoami.code !== 0 || !/^\d+$/.test(uid)) {
      throw new UserError(`\`id -u\` failed for ${admin} on ${hostPort}: ${(whoami.stderr || whoami.stdout).trim()}`, {
        hint: `check ${admin}'s login shell on the host`,
      });
    }
    const sudo = uid !== '0';
    if (sudo) {
      const check = await connection.exec(SUDO_CHECK_ARGV);
      if (check.code !== 0) {
        const why = (check.stderr || check.stdout).trim().split('\n').pop() || `sudo exited with ${check.code}`;
        throw new UserError(`the admin login ${admin}@${hostPort} is not root and cannot use sudo without a password (${why})`, {
          exitCode: 1,
          hint: `set BLUEGREEN_ADMIN_USER=root, or allow ${admin} passwordless sudo on the host (e.g. \`${admin} ALL=(ALL) NOPASSWD: ALL\` in /etc/sudoers.d/${admin})`,
        });
      }
      say(`${prefix}logged in as ${admin} (using sudo)`);
    } else {
      say(`${prefix}logged in as ${admin}`);
    }

    // 3. Run the script, reporting steps as they come.
    let pending = '';
    const result = await connection.exec(remoteArgv(args, { sudo }), {
      stdin: tar,
      onStdout: (chunk) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const parsed = parseScriptOutput(line);
          const step = parsed.steps[0];
          if (step) say(`${prefix}${step.name}: ${step.status}${step.detail ? ` (${step.detail})` : ''}`);
        }
      },
    });
    const output = parseScriptOutput(result.stdout);
    if (output.error) {
      throw new UserError(`provisioning ${colour} (${hostPort}) failed: ${output.error.message}`, {
        hint: scriptErrorHint(output.error.code, colour),
      });
    }
    if (!output.complete || result.code !== 0) {
      const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ');
      throw new UserError(`provisioning ${colour} (${hostPort}) stopped unexpectedly (exit ${result.code}): ${tail}`, {
        hint: `run \`bluegreen provision ${colour}\` again (every step checks first); if it keeps failing, run provisioning/provision.sh on the host by hand`,
      });
    }
    if (output.info.protocol !== SCRIPT_PROTOCOL) {
      throw new UserError(`the host answered with provisioning protocol ${output.info.protocol ?? '(none)'}, expected ${SCRIPT_PROTOCOL}`);
    }
    const changes = output.steps.filter((s) => s.status !== 'already done').length;
    say(
      `${prefix}${
        changes === 0
          ? `nothing to change: all ${output.steps.length} steps already done`
          : dryRun
            ? `${changes} of ${output.steps.length} steps would change (dry run: nothing was changed)`
            : `${changes} of ${output.steps.length} steps changed`
      }`,
    );
    return { colour, host: hostPort, hostKey: { fingerprint: scanned.fingerprint, status: keyStatus }, os: output.info.os, steps: output.steps, changes };
  } finally {
    await connection.close();
  }
}

function recordHostKey(knownHostsPath: string, current: string, line: string): void {
  mkdirSync(path.dirname(knownHostsPath), { recursive: true, mode: 0o700 });
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  appendFileSync(knownHostsPath, `${separator}${line}\n`, { mode: 0o600 });
}

/** The directory holding provisioning/ and templates/ (this package's root, from src/ or dist/src/). */
export function bundleRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'provisioning', SCRIPT_NAME)) && existsSync(path.join(dir, 'templates'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find provisioning/provision.sh next to the bluegreen package');
    dir = parent;
  }
}

/** provision.sh and its templates (only those: templates/ holds other commands' files too), as the host receives them. */
export function loadBundle(root = bundleRoot()): BundleFile[] {
  const files: BundleFile[] = [{ path: SCRIPT_NAME, mode: 0o755, content: readFileSync(path.join(root, 'provisioning', SCRIPT_NAME)) }];
  for (const name of TEMPLATE_NAMES) {
    files.push({ path: `templates/${name}`, mode: 0o644, content: readFileSync(path.join(root, 'templates', name)) });
  }
  return files;
}

/**
 * `bluegreen provision blue|green --cloud-init`: the user-data for a new machine of that colour (the same
 * preparation as provisioning over SSH), from the configuration alone: no host is met, so it serves a colour
 * whose hosts are found by tag or scale set as well (new droplets and instances get it when they are made).
 * One document is one colour, so `all` is refused.
 */
export function cloudInit(options: { config: Config; colours: readonly Colour[]; webListen?: string | undefined }): string {
  const { config } = options;
  if (options.colours.length !== 1) {
    throw new UserError('--cloud-init prints the user-data of one host: name blue or green', {
      exitCode: 2,
      hint: 'run `bluegreen provision blue --cloud-init` and `bluegreen provision green --cloud-init`',
    });
  }
  const site = cloudInitSite(config, options.colours[0]!);
  const deployPublicKey = readDeployPublicKey(config);
  const webListen = webListenOf(options);
  return cloudInitUserData(scriptInputs(config, site, { deployPublicKey, webListen, dryRun: false }), loadBundle());
}
