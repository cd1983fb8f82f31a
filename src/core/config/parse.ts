import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_HOOK_TIMEOUT_SECONDS } from '../app-hooks.js';
import { COLOURS } from '../colour.js';
import { isSharedPath } from '../remote-commands.js';
import { connectToSchema } from './connect-to.js';
import { formatHost, parseHosts, slotHosts } from './hosts.js';
import { parseProvider } from './providers.js';
import { createReader } from './reader.js';
import type { ConfigResult, Env } from './types.js';
import { CONTROL_CHARACTERS, absolutePathSchema, checkWebListen, httpUrlSchema, listenSchema, localPathSchema, loginNameSchema, parseUrlText, secretTextSchema, urlTextProblem, wholeNumber } from './values.js';

const keepReleasesSchema = wholeNumber('').refine(
  (n) => n >= 2 && n <= 1000,
  'expected a number from 2 to 1000 (current and its predecessor are always kept)',
);

const parallelSchema = wholeNumber('').refine((n) => n >= 1 && n <= 1000, 'expected a number of hosts from 1 to 1000');

const healthPathSchema = z
  .string()
  .regex(/^\/[^\s]*$/, 'expected a path starting with /')
  .refine((value) => !CONTROL_CHARACTERS.test(value) && !urlTextProblem(value), 'expected a path starting with /, without control characters or a bad % escape');

const sudoCommandsSchema = z
  .string()
  .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
  .refine(
    (commands) => commands.every((c) => /^\/[A-Za-z0-9_./-]+( [A-Za-z0-9_./=:@-]+)*$/.test(c)),
    'expected a comma-separated list of commands with absolute paths, e.g. /usr/bin/systemctl reload apache2',
  );

/** Webhook URLs, comma-separated; they often hold a token, so a problem names the entry's position, never its text. */
const notifyUrlsSchema = z.string().transform((value, ctx) => {
  const urls = value.split(',').map((s) => s.trim()).filter(Boolean);
  urls.forEach((text, index) => {
    const parsed = parseUrlText(text);
    const ok = parsed.url && (parsed.url.protocol === 'http:' || parsed.url.protocol === 'https:') && !parsed.url.username && !parsed.url.password;
    if (!ok) ctx.addIssue({ code: 'custom', message: `entry ${index + 1} is not an http:// or https:// URL (without user:password@); expected comma-separated webhook URLs` });
  });
  return urls;
});
const sharedPathsSchema = z
  .string()
  .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
  .refine(
    (paths) => paths.every(isSharedPath) && new Set(paths.map((p) => p.replace(/\/$/, ''))).size === paths.length,
    'expected a comma-separated list of distinct paths relative to the release, without . or .. parts, a trailing / for a directory, e.g. storage/,public/uploads/,.env',
  );

const hookTimeoutSchema = wholeNumber(' of seconds').refine((n) => n >= 1 && n <= 86400, 'expected 1 to 86400 seconds');

/**
 * Turns the environment into a typed configuration, or into every problem found, each naming the variable,
 * the bad value (never a secret's) and what was expected. Pure: reads nothing but `env` and `cwd` (and
 * `env.HOME` for `~/` in paths). Files the configuration names are checked by `checkConfigFiles`.
 */
export function parseConfig(env: Env, cwd: string): ConfigResult {
  const reader = createReader(env);
  const { read } = reader;
  const localPath = localPathSchema(cwd, env.HOME);

  // --- The deploy server
  const dataDir = read('BLUEGREEN_DATA_DIR', localPath, path.resolve(cwd, '.bluegreen'));
  const listen = read('BLUEGREEN_LISTEN', listenSchema, { host: '127.0.0.1', port: 7000 });
  const sshListen = env.BLUEGREEN_SSH_LISTEN === 'off' ? undefined : read('BLUEGREEN_SSH_LISTEN', listenSchema, { host: '127.0.0.1', port: 7022 });
  const tlsCert = read('BLUEGREEN_TLS_CERT', localPath);
  const tlsKey = read('BLUEGREEN_TLS_KEY', localPath);
  if (reader.isSet('BLUEGREEN_TLS_CERT') !== reader.isSet('BLUEGREEN_TLS_KEY')) {
    const missing = reader.isSet('BLUEGREEN_TLS_CERT') ? 'BLUEGREEN_TLS_KEY' : 'BLUEGREEN_TLS_CERT';
    reader.errors.push(`${missing} is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY`);
  }

  // --- The hosts
  const appRoot = read('BLUEGREEN_APP_ROOT', absolutePathSchema, '/var/www/app').replace(/\/+$/, '') || '/';
  const sshKeyPath = read('BLUEGREEN_SSH_KEY', localPath, path.join(dataDir, 'id_ed25519'));
  const knownHostsPath = read('BLUEGREEN_KNOWN_HOSTS', localPath, path.join(dataDir, 'known_hosts'));
  const keepReleases = read('BLUEGREEN_KEEP_RELEASES', keepReleasesSchema, 5);
  const parallel = read('BLUEGREEN_PARALLEL', parallelSchema, 10);
  const lockWaitSeconds = read('BLUEGREEN_LOCK_WAIT', wholeNumber(' of seconds').refine((n) => n <= 3600, 'expected at most 3600 seconds'), 120);

  // --- Verification
  const publicUrl = read('BLUEGREEN_PUBLIC_URL', httpUrlSchema({ realPort: true }));
  const verifyTimeoutSeconds = read('BLUEGREEN_VERIFY_TIMEOUT', wholeNumber(' of seconds').refine((n) => n >= 1 && n <= 3600, 'expected 1 to 3600 seconds'), 30);
  const healthPath = read('BLUEGREEN_HEALTH_PATH', healthPathSchema, '/');

  // --- Traffic (before the hosts: a tag or scale set of the provider's may say where the hosts are)
  const provider = parseProvider(reader);
  const { embedded, hosts, discovery } = provider.kind === 'azure-slots' ? slotHosts(reader) : parseHosts(reader, { dataDir, appRoot, provider });
  // An address that points at one machine cannot take a colour of several.
  const oneHostOnly: Partial<Record<string, string>> = { digitalocean: 'digitalocean-lb', 'azure-ip': 'azure-appgw' };
  const instead = oneHostOnly[provider.kind];
  for (const colour of COLOURS) {
    const count = hosts[colour].length;
    if (instead && count > 1) {
      reader.errors.push(
        `${colour.toUpperCase()}_HOST has ${count} hosts, but BLUEGREEN_PROVIDER=${provider.kind} moves an address that points at one host: use BLUEGREEN_PROVIDER=${instead} for a colour of several hosts`,
      );
    }
  }

  // --- Provisioning
  const adminUser = read('BLUEGREEN_ADMIN_USER', loginNameSchema, 'root');
  const adminKeyPath = read('BLUEGREEN_ADMIN_KEY', localPath);
  const webServer = read('BLUEGREEN_WEB_SERVER', z.enum(['apache', 'nginx'], { message: 'expected apache or nginx' }), 'apache');
  const webListen = read(
    'BLUEGREEN_WEB_LISTEN',
    z.string().superRefine((value, ctx) => {
      const problem = checkWebListen(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    '80',
  );
  const sudoCommands = read('BLUEGREEN_SUDO_COMMANDS', sudoCommandsSchema, []);
  const connectTo = read('BLUEGREEN_CONNECT_TO', connectToSchema, []);

  // --- Lifecycle and notifications
  const autoFlip = read('BLUEGREEN_AUTO_FLIP', z.enum(['true', 'false'], { message: 'expected true or false' }), 'false') === 'true';
  const notifyUrls = read('BLUEGREEN_NOTIFY_URLS', notifyUrlsSchema, []);
  const notifySecret = read('BLUEGREEN_NOTIFY_SECRET', secretTextSchema);
  // --- Applications
  const sharedPaths = read('BLUEGREEN_SHARED_PATHS', sharedPathsSchema, []);
  const hookTimeoutSeconds = read('BLUEGREEN_HOOK_TIMEOUT', hookTimeoutSchema, DEFAULT_HOOK_TIMEOUT_SECONDS);

  if (reader.errors.length > 0) return { config: undefined, errors: reader.errors };
  // With the local router, production is the router; one on "any free port" has no address to give.
  const productionUrl =
    publicUrl ??
    (provider.kind === 'local' && provider.listen.port !== 0 ? `http://${formatHost(provider.listen.host)}:${provider.listen.port}/` : undefined);
  return {
    config: {
      dataDir,
      listen,
      sshListen,
      tls: tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey } : undefined,
      embedded,
      hosts,
      discovery,
      appRoot,
      sshKeyPath,
      knownHostsPath,
      keepReleases,
      parallel,
      lockWaitMs: lockWaitSeconds * 1000,
      publicUrl: productionUrl,
      healthPath,
      verifyTimeoutMs: verifyTimeoutSeconds * 1000,
      provider,
      admin: { user: adminUser, keyPath: adminKeyPath },
      webServer,
      webListen,
      sudoCommands,
      autoFlip,
      notify: { urls: notifyUrls, secret: notifySecret },
      sharedPaths,
      hookTimeoutSeconds,
      connectTo,
    },
    errors: [],
  };
}
