/**
 * `bluegreen provision`, as data: which hosts, what to send them (provisioning/provision.sh and templates/ as
 * a tar stream on stdin), which argv to run, how to read the script's status lines back, and the same
 * preparation as cloud-init user-data. Pure: no sockets, no files, no child processes.
 */
import type { Colour } from './colour.js';
import { type Config, type HostTarget, templateHost } from './config.js';
import { checkWebListen } from './config/values.js';
import { UserError } from './errors.js';

export { checkWebListen };

/** One file of the bundle, relative to the bundle root: `provision.sh`, `templates/<name>`. */
export interface BundleFile {
  path: string;
  content: Buffer | string;
  mode: number;
}

/** One member of the tar stream the host unpacks: a directory (path ends with `/`) or a file with its content. */
export type BundleEntry =
  | { type: 'directory'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; content: Buffer | string };

/** The templates provision.sh reads (from templates/ in this repository). */
export const TEMPLATE_NAMES = ['apache-site.conf', 'apache-ports.conf', 'nginx-site.conf', 'sudoers', 'index.html'] as const;
export const SCRIPT_NAME = 'provision.sh';
/** Where cloud-init writes the bundle on the new machine. */
export const CLOUD_INIT_DIR = '/usr/local/lib/bluegreen';
/** The status-line protocol version provision.sh speaks (`info protocol: 1`). */
export const SCRIPT_PROTOCOL = '1';

export interface ProvisionTarget {
  colour: Colour;
  /** The admin login's host and port (the colour's SSH host). */
  host: string;
  port: number;
  /** The deploy user from BLUE_HOST / GREEN_HOST. */
  deployUser: string;
  appRoot: string;
}

/** What a colour's site is on a host: the deploy user and the app root (all that cloud-init needs of a host). */
export type ProvisionSite = Pick<ProvisionTarget, 'colour' | 'deployUser' | 'appRoot'>;

/** What the host-side script is asked to do on one host. */
export interface ScriptInputs {
  colour: Colour;
  deployUser: string;
  deployPublicKey: string;
  appRoot: string;
  webServer: 'apache' | 'nginx';
  webListen: string;
  sudoCommands: readonly string[];
  dryRun: boolean;
  /** How long apt waits for another package operation's lock before provision reports it; default 120. */
  aptLockTimeoutSeconds?: number;
}

export type StepStatus = 'already done' | 'changed' | 'would change';
export interface StepResult {
  name: string;
  status: StepStatus;
  detail: string | undefined;
}
export interface ScriptOutput {
  info: Record<string, string>;
  steps: StepResult[];
  /** `error CODE: MESSAGE`, the script's last word when it stopped. */
  error: { code: string; message: string } | undefined;
  /** The script printed `done`: every step ran. */
  complete: boolean;
}

/** The variable that names a colour's deploy user: its `*_HOST`, or the template when hosts are found. */
function hostVariable(config: Config, colour: Colour): string {
  return config.discovery ? 'BLUEGREEN_HOST_TEMPLATE' : `${colour.toUpperCase()}_HOST`;
}

/** The site a host of `colour` gets, refusing a host provision cannot prepare (on this machine; root as the deploy user). */
function siteOf(config: Config, colour: Colour, host: HostTarget): ProvisionTarget {
  const variable = hostVariable(config, colour);
  if (host.kind === 'app-service-slot') {
    throw new UserError(`${colour} lives in App Service slot ${host.slot} (BLUEGREEN_PROVIDER=azure-slots): Azure runs it, there is no host to provision`, {
      exitCode: 2,
      hint: `deploy to it with git push ${colour} main`,
    });
  }
  if (host.kind !== 'ssh') {
    throw new UserError(
      config.embedded
        ? `no hosts are configured: provision prepares ${colour}'s host over SSH`
        : `${variable} is a file:// directory on this machine: provision prepares hosts over SSH`,
      { exitCode: 2, hint: `set ${variable}=ssh://deploy@host (see \`bluegreen init\`), then run \`bluegreen provision ${colour}\`` },
    );
  }
  if (host.user === 'root') {
    const ordinary = config.discovery
      ? config.discovery.hostTemplate.replace(/^ssh:\/\/[^@]*@/, 'ssh://deploy@')
      : `ssh://deploy@${host.host}${host.port === 22 ? '' : `:${host.port}`}`;
    throw new UserError(`${variable} logs in as root: the deploy user must be an ordinary user`, {
      exitCode: 2,
      hint: `set ${variable}=${ordinary}; provision creates that user`,
    });
  }
  return { colour, host: host.host, port: host.port, deployUser: host.user, appRoot: host.appRoot };
}

/**
 * The hosts `bluegreen provision blue|green|all` prepares, refusing what it cannot prepare. `hosts` are each
 * colour's hosts now: listed in the configuration, or found by tag or scale set.
 */
export function provisionTargets(config: Config, colours: readonly Colour[], hosts: Partial<Record<Colour, readonly HostTarget[]>> = config.hosts): ProvisionTarget[] {
  const targets = colours.flatMap((colour) => (hosts[colour] ?? []).map((host) => siteOf(config, colour, host)));
  const clash = targets.flatMap((a) => targets.filter((b) => b !== a && a.host === b.host && a.port === b.port && (a.appRoot !== b.appRoot || a.deployUser !== b.deployUser)).map((b) => [a, b] as const))[0];
  if (clash) {
    const [a, b] = clash;
    throw new UserError(
      `${a.colour === b.colour ? `two hosts of ${a.colour}` : 'blue and green'} are the same host (${a.host}:${a.port}) with different deploy users or app roots: provision sets up one site per host`,
      { exitCode: 2, hint: 'give each colour its own host, or provision one colour' },
    );
  }
  return targets;
}

/**
 * The site a new machine of `colour` gets from `--cloud-init`, without meeting any host: the deploy user and
 * app root of BLUEGREEN_HOST_TEMPLATE when the colour's hosts are found by tag or scale set, else those of its
 * listed hosts, which must agree (one document prepares every new machine of the colour alike).
 */
export function cloudInitSite(config: Config, colour: Colour): ProvisionSite {
  if (config.discovery) {
    const { deployUser, appRoot } = siteOf(config, colour, templateHost(config.discovery, config.appRoot));
    return { colour, deployUser, appRoot };
  }
  const sites = provisionTargets(config, [colour]).map(({ deployUser, appRoot }) => ({ colour, deployUser, appRoot }));
  const kinds = [...new Set(sites.map((site) => `${site.deployUser} in ${site.appRoot}`))];
  if (kinds.length > 1) {
    const variable = hostVariable(config, colour);
    throw new UserError(`${variable} gives ${colour}'s hosts different deploy users or app roots (${kinds.join('; ')}): one cloud-init document prepares every new host of ${colour} alike`, {
      exitCode: 2,
      hint: `give every host in ${variable} the same deploy user and app root, or provision each host over SSH with \`bluegreen provision ${colour}\``,
    });
  }
  return sites[0]!;
}

/** Checks the deploy public key (the text of `${BLUEGREEN_SSH_KEY}.pub`) and returns its one line. */
export function deployPublicKeyLine(text: string, path: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  const line = lines[0];
  if (lines.length !== 1 || line === undefined || !/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=*( [ -~]*)?$/.test(line)) {
    throw new UserError(`${path} is not one OpenSSH public key line`, {
      exitCode: 2,
      hint: 'run `bluegreen init` to make a deploy key pair, or point BLUEGREEN_SSH_KEY at a key whose .pub sits next to it',
    });
  }
  return line;
}

/** provision.sh's arguments. */
export function scriptArgs(inputs: ScriptInputs): string[] {
  const args = [
    '--colour', inputs.colour,
    '--web-server', inputs.webServer,
    '--deploy-user', inputs.deployUser,
    '--deploy-key', inputs.deployPublicKey,
    '--app-root', inputs.appRoot,
    '--web-listen', inputs.webListen,
  ];
  for (const command of inputs.sudoCommands) args.push('--sudo-command', command);
  if (inputs.aptLockTimeoutSeconds !== undefined) args.push('--apt-lock-timeout', String(Math.max(0, Math.floor(inputs.aptLockTimeoutSeconds))));
  if (inputs.dryRun) args.push('--dry-run');
  return args;
}

/**
 * Unpacks the tar stream on stdin into a private temp dir, runs provision.sh from it with stdin closed, and
 * removes the dir. Run as `sh -c BOOTSTRAP bluegreen-provision ARGS...`.
 */
export const BOOTSTRAP =
  'd=$(mktemp -d /tmp/bluegreen-provision.XXXXXX) || exit 70; ' +
  'trap \'rm -rf "$d"\' EXIT; ' +
  'tar -x -f - -C "$d" --no-same-owner || { echo "error bad-state: cannot unpack the provisioning bundle"; exit 71; }; ' +
  'sh "$d/provision.sh" "$@" </dev/null';

/** The argv the admin connection runs: through `sudo -n` when the admin is not root. */
export function remoteArgv(args: readonly string[], options: { sudo: boolean }): string[] {
  return [...(options.sudo ? ['sudo', '-n'] : []), 'sh', '-c', BOOTSTRAP, 'bluegreen-provision', ...args];
}

/** Admin probes, run before the script: who am I, and may I use sudo without a password. */
export const WHOAMI_ARGV = ['id', '-u'] as const;
export const SUDO_CHECK_ARGV = ['sudo', '-n', 'true'] as const;

/**
 * Checks the bundle is complete and returns the members of the tar stream for `tar -x`, in order: the
 * `templates/` directory, then each file with its mode and content.
 */
export function bundleEntries(files: readonly BundleFile[]): BundleEntry[] {
  checkBundle(files);
  return [
    { type: 'directory', path: 'templates/', mode: 0o755 },
    ...files.map((f): BundleEntry => ({ type: 'file', path: f.path, mode: f.mode, content: f.content })),
  ];
}

function checkBundle(files: readonly BundleFile[]): void {
  const names = new Set(files.map((f) => f.path));
  const missing = [SCRIPT_NAME, ...TEMPLATE_NAMES.map((t) => `templates/${t}`)].filter((p) => !names.has(p));
  if (missing.length > 0) throw new Error(`provisioning bundle is missing ${missing.join(', ')}`);
}

/** Reads provision.sh's stdout. Lines it does not know are ignored. */
export function parseScriptOutput(stdout: string): ScriptOutput {
  const output: ScriptOutput = { info: {}, steps: [], error: undefined, complete: false };
  for (const line of stdout.split(/\r?\n/)) {
    let m: RegExpExecArray | null;
    if ((m = /^step ([a-z0-9-]+): (already done|changed|would change)(?: \((.*)\))?$/.exec(line))) {
      output.steps.push({ name: m[1]!, status: m[2] as StepStatus, detail: m[3] });
    } else if ((m = /^info ([a-z0-9-]+): (.*)$/.exec(line))) {
      output.info[m[1]!] = m[2]!;
    } else if ((m = /^error ([a-z0-9-]+): (.*)$/.exec(line))) {
      output.error = { code: m[1]!, message: m[2]! };
    } else if (line === 'done') {
      output.complete = true;
    }
  }
  return output;
}

/** What the user is told to do next for each error code provision.sh reports. */
export function scriptErrorHint(code: string, colour: Colour): string {
  const again = `then run \`bluegreen provision ${colour}\` again`;
  switch (code) {
    case 'unsupported-os':
      return 'provision supports Ubuntu 20.04–24.04 and Debian 12; use one of those for this host';
    case 'apt-locked':
      return `another apt/dpkg run holds the lock (see \`ps -ef | grep -E "apt|dpkg"\` on the host); wait for it, ${again}`;
    case 'apt-failed':
      return `check the host's apt sources and network (\`apt-get update\` on the host), ${again}`;
    case 'not-root':
      return 'set BLUEGREEN_ADMIN_USER to root or to a user with passwordless sudo';
    case 'bad-input':
      return 'check BLUE_HOST/GREEN_HOST, BLUEGREEN_APP_ROOT, BLUEGREEN_WEB_LISTEN and BLUEGREEN_SUDO_COMMANDS';
    case 'config-invalid':
      return `fix the web server configuration on the host (the message quotes its test), ${again}`;
    case 'service-failed':
      return `the message quotes the server's error log (a port already in use? \`ss -ltnp\` on the host; BLUEGREEN_WEB_LISTEN); fix it, ${again}`;
    case 'sudoers-invalid':
      return 'fix BLUEGREEN_SUDO_COMMANDS: each entry is an absolute command path with plain arguments';
    default:
      return `fix the problem on the host, ${again}`;
  }
}

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const yaml = (value: string): string => JSON.stringify(value);

/**
 * `#cloud-config` user-data that prepares a new machine exactly as `bluegreen provision` does over SSH: the
 * bundle is written under /usr/local/lib/bluegreen and provision.sh runs once, as root, on first boot.
 */
export function cloudInitUserData(inputs: ScriptInputs, files: readonly BundleFile[]): string {
  checkBundle(files);
  const lines = [
    '#cloud-config',
    `# bluegreen provision --cloud-init (${inputs.colour}): the same preparation as \`bluegreen provision ${inputs.colour}\`.`,
    '# Register the machine\'s host key afterwards: `bluegreen provision ' + inputs.colour + ' --host-key SHA256:...` (it changes nothing else).',
    'write_files:',
  ];
  for (const file of files) {
    const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
    lines.push(
      `  - path: ${yaml(`${CLOUD_INIT_DIR}/${file.path}`)}`,
      `    owner: "root:root"`,
      `    permissions: "0${file.mode.toString(8)}"`,
      `    encoding: b64`,
      `    content: ${content.toString('base64')}`,
    );
  }
  const argv = ['sh', `${CLOUD_INIT_DIR}/${SCRIPT_NAME}`, ...scriptArgs({ ...inputs, dryRun: false })];
  lines.push('runcmd:', `  - [${argv.map(yaml).join(', ')}]`, '');
  return lines.join('\n');
}

/** Script inputs for one host's site (or a new machine's, for cloud-init) from the configuration. */
export function scriptInputs(
  config: Config,
  target: ProvisionSite,
  options: { deployPublicKey: string; webListen: string; dryRun: boolean; aptLockTimeoutSeconds?: number },
): ScriptInputs {
  const listenProblem = checkWebListen(options.webListen);
  if (listenProblem) {
    throw new UserError(`BLUEGREEN_WEB_LISTEN=${JSON.stringify(options.webListen)}: ${listenProblem}`, { exitCode: 2 });
  }
  if (!/^(\/[A-Za-z0-9_][A-Za-z0-9._-]*){2,}$/.test(target.appRoot)) {
    throw new UserError(
      `the app root ${JSON.stringify(target.appRoot)} of ${target.colour} is not one provision can prepare: expected an absolute path of at least two parts made of letters, digits, . _ -`,
      { exitCode: 2, hint: 'set BLUEGREEN_APP_ROOT (or the path in BLUE_HOST/GREEN_HOST), e.g. /var/www/app' },
    );
  }
  return {
    colour: target.colour,
    deployUser: target.deployUser,
    deployPublicKey: options.deployPublicKey,
    appRoot: target.appRoot,
    webServer: config.webServer,
    webListen: options.webListen,
    sudoCommands: config.sudoCommands,
    dryRun: options.dryRun,
    ...(options.aptLockTimeoutSeconds === undefined ? {} : { aptLockTimeoutSeconds: options.aptLockTimeoutSeconds }),
  };
}

/** What to do with the key a host offered, given known_hosts and the user's flags (trust on first use). */
export type HostKeyDecision = { action: 'trusted' } | { action: 'record'; reason: 'matches --host-key' | '--accept-new-host-key' };

/**
 * The trust-on-first-use rules: a key already in known_hosts is used; a changed or revoked key is always
 * refused; a new key is recorded only when it equals `--host-key` or with `--accept-new-host-key`. When
 * provision meets one host, a `--host-key` that disagrees with the offered key is refused even when known_hosts
 * trusts the key; when it meets several (`oneOfSeveral`: a colour of several hosts, or `all`), `--host-key` is
 * the key of the one new host, and the hosts already trusted are used as they are.
 */
export function decideHostKey(
  check: 'trusted' | 'unknown' | 'changed' | 'revoked',
  offered: string,
  where: { colour: Colour; host: string; port: number; knownHostsPath: string; oneOfSeveral?: boolean },
  flags: { hostKey?: string | undefined; acceptNewHostKey: boolean },
): HostKeyDecision {
  const label = where.port === 22 ? where.host : `${where.host}:${where.port}`;
  if (flags.hostKey !== undefined && flags.hostKey !== offered && !where.oneOfSeveral) {
    throw new UserError(`host key of ${label} (${where.colour}) is ${offered}, not the ${flags.hostKey} given with --host-key: refusing to connect`, {
      hint: `check the fingerprint on the host's console with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`; if someone is between you and the host, do not go on`,
    });
  }
  if (check === 'changed' || check === 'revoked') {
    throw new UserError(
      `host key of ${label} (${where.colour}) has ${check === 'changed' ? 'CHANGED' : 'been REVOKED'}: it offered ${offered}, which ${where.knownHostsPath} does not trust; refusing to connect`,
      {
        hint:
          `someone may be intercepting the connection, or the host was rebuilt; if you rebuilt it, check the new fingerprint out of band, ` +
          `remove the old entry (ssh-keygen -R '${where.port === 22 ? where.host : `[${where.host}]:${where.port}`}' -f ${where.knownHostsPath}), ` +
          `then run \`bluegreen provision ${where.colour} --host-key ${offered}\``,
      },
    );
  }
  if (check === 'trusted') return { action: 'trusted' };
  if (flags.hostKey === offered) return { action: 'record', reason: 'matches --host-key' };
  if (flags.acceptNewHostKey) return { action: 'record', reason: '--accept-new-host-key' };
  throw new UserError(`host key of ${label} (${where.colour}) is not known yet: it offered ${offered}`, {
    hint:
      `compare it with the host's own fingerprint (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on its console), then run ` +
      `\`bluegreen provision ${where.colour} --host-key ${offered}\` (or --accept-new-host-key to trust it without checking)`,
  });
}

/** The admin login's credentials: BLUEGREEN_ADMIN_KEY, else the SSH agent. */
export function adminAuthSource(keyPath: string | undefined, agentSocket: string | undefined): { kind: 'key'; path: string } | { kind: 'agent'; socket: string } {
  if (keyPath !== undefined) return { kind: 'key', path: keyPath };
  if (agentSocket) return { kind: 'agent', socket: agentSocket };
  throw new UserError('no credentials for the admin login: BLUEGREEN_ADMIN_KEY is not set and no SSH agent is running (SSH_AUTH_SOCK)', {
    exitCode: 2,
    hint: 'set BLUEGREEN_ADMIN_KEY to a private key that can log in as BLUEGREEN_ADMIN_USER (default root), or `ssh-add` it to a running agent',
  });
}
