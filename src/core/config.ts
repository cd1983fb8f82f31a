import path from 'node:path';
import { z } from 'zod';
import { COLOURS, type Colour } from './colour.js';
import { checkWebListen } from './provision-plan.js';

/** Where a colour's releases live: a host over SSH, or a directory on this machine. */
export type HostLocation =
  | { kind: 'ssh'; user: string; host: string; port: number; appRoot: string }
  | { kind: 'file'; appRoot: string };
/** A host location plus its own HTTP address (for verification). */
export type HostTarget = HostLocation & { url: string };

export interface AzureCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  armUrl: string;
  authorityUrl: string;
}

export type ProviderConfig =
  | { kind: 'local'; listen: Listen }
  | { kind: 'digitalocean'; token: string; apiUrl: string; reservedIp: string; droplets: Record<Colour, string> }
  | { kind: 'azure-appgw'; azure: AzureCredentials; gateway: string; routingRule: string; pools: Record<Colour, string> }
  | { kind: 'azure-ip'; azure: AzureCredentials; publicIp: string; nics: Record<Colour, string> };

export interface Listen {
  host: string;
  port: number;
}

export interface Config {
  dataDir: string;
  listen: Listen;
  tls: { cert: string; key: string } | undefined;
  /** True when no hosts are configured: two `file://` hosts under the data dir, served locally. */
  embedded: boolean;
  hosts: Record<Colour, HostTarget>;
  appRoot: string;
  sshKeyPath: string;
  knownHostsPath: string;
  keepReleases: number;
  /** How many hosts a deploy works on at once (BLUEGREEN_PARALLEL). */
  parallel: number;
  /** How long a push or flip waits for another deploy to the same colour. */
  lockWaitMs: number;
  publicUrl: string | undefined;
  healthPath: string;
  /** How long each flip check (the host, then the public address) may take. */
  verifyTimeoutMs: number;
  provider: ProviderConfig;
  admin: { user: string; keyPath: string | undefined };
  webServer: 'apache' | 'nginx';
  /** What provisioned web servers listen on: `PORT` or `IPV4:PORT`. */
  webListen: string;
  sudoCommands: string[];
}

/** Variables whose values are never repeated in messages. */
export const SECRET_VARIABLES = ['DIGITALOCEAN_TOKEN', 'AZURE_CLIENT_SECRET'] as const;

/** Ports the embedded default serves its two local hosts on. */
export const EMBEDDED_HOST_PORTS: Record<Colour, number> = { blue: 8001, green: 8002 };

export type Env = Record<string, string | undefined>;

export type ConfigResult = { config: Config; errors: [] } | { config: undefined; errors: string[] };

const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'expected host:port, e.g. 127.0.0.1:7000')
  .transform((value, ctx) => {
    const at = value.lastIndexOf(':');
    const port = Number(value.slice(at + 1));
    if (port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'expected a port from 0 (any free port) to 65535' });
      return z.NEVER;
    }
    return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port };
  });

const httpUrlSchema = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');

const absolutePathSchema = z
  .string()
  .refine((value) => path.posix.isAbsolute(value) && !value.split('/').includes('..'), 'expected an absolute path without ..');

const positiveIntSchema = z
  .string()
  .regex(/^\d+$/, 'expected a whole number')
  .transform(Number)
  .refine((n) => n >= 2 && n <= 1000, 'expected a number from 2 to 1000 (current and its predecessor are always kept)');

const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, . _ -');

function hostSchema(defaultAppRoot: string) {
  return z.string().transform((value, ctx): HostLocation => {
    const expected = 'expected ssh://user@host[:port][/app/root] or file:///app/root';
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    // URL parsing has already resolved any `..` in the path.
    const appRoot = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    if (url.protocol === 'file:') {
      if (url.host !== '' || !appRoot || !absolutePathSchema.safeParse(appRoot).success) {
        ctx.addIssue({ code: 'custom', message: `${expected} (file:// needs an absolute path)` });
        return z.NEVER;
      }
      return { kind: 'file', appRoot };
    }
    if (url.protocol !== 'ssh:' || !url.hostname || !url.username || url.password || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    const user = decodeURIComponent(url.username);
    if (!/^[a-z_][a-z0-9_.-]*$/i.test(user)) {
      ctx.addIssue({ code: 'custom', message: `${expected} (user must be a plain login name)` });
      return z.NEVER;
    }
    return {
      kind: 'ssh',
      user,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 22,
      appRoot: appRoot || defaultAppRoot,
    };
  });
}

/**
 * Turns the environment into a typed configuration, or into every problem found, each naming the variable,
 * the bad value (never a secret's) and what was expected. Pure: reads nothing but `env` and `cwd`.
 */
export function parseConfig(env: Env, cwd: string): ConfigResult {
  const errors: string[] = [];

  function read<T>(name: string, schema: z.ZodType<T, string>, fallback: T): T;
  function read<T>(name: string, schema: z.ZodType<T, string>): T | undefined;
  function read<T>(name: string, schema: z.ZodType<T, string>, fallback?: T): T | undefined {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    const shown = (SECRET_VARIABLES as readonly string[]).includes(name) ? '(value hidden)' : JSON.stringify(raw);
    errors.push(`${name}=${shown}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    return fallback;
  }
  function required(name: string, why: string): string {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      errors.push(`${name} is not set: ${why}`);
      return '';
    }
    return raw;
  }
  function requiredName(name: string, why: string): string {
    if (env[name] === undefined || env[name] === '') return required(name, why);
    return read(name, nameSchema, '');
  }

  const dataDir = path.resolve(cwd, env.BLUEGREEN_DATA_DIR || '.bluegreen');
  const listen = read('BLUEGREEN_LISTEN', listenSchema, { host: '127.0.0.1', port: 7000 });
  const tlsCert = env.BLUEGREEN_TLS_CERT || undefined;
  const tlsKey = env.BLUEGREEN_TLS_KEY || undefined;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    errors.push(`${tlsCert ? 'BLUEGREEN_TLS_KEY' : 'BLUEGREEN_TLS_CERT'} is not set: HTTPS needs both BLUEGREEN_TLS_CERT and BLUEGREEN_TLS_KEY`);
  }
  const appRoot = read('BLUEGREEN_APP_ROOT', absolutePathSchema, '/var/www/app').replace(/\/+$/, '') || '/';
  const keepReleases = read('BLUEGREEN_KEEP_RELEASES', positiveIntSchema, 5);
  const parallel = read('BLUEGREEN_PARALLEL', positiveIntSchema, 10);
  const lockWaitSeconds = read(
    'BLUEGREEN_LOCK_WAIT',
    z.string().regex(/^\d+$/, 'expected a whole number of seconds').transform(Number).refine((n) => n <= 3600, 'expected at most 3600 seconds'),
    120,
  );
  const publicUrl = read('BLUEGREEN_PUBLIC_URL', httpUrlSchema);
  const verifyTimeoutSeconds = read(
    'BLUEGREEN_VERIFY_TIMEOUT',
    z.string().regex(/^\d+$/, 'expected a whole number of seconds').transform(Number).refine((n) => n >= 1 && n <= 3600, 'expected 1 to 3600 seconds'),
    30,
  );
  const healthPath = read('BLUEGREEN_HEALTH_PATH', z.string().regex(/^\/[^\s]*$/, 'expected a path starting with /'), '/');

  const blueRaw = env.BLUE_HOST || undefined;
  const greenRaw = env.GREEN_HOST || undefined;
  const embedded = !blueRaw && !greenRaw;
  if (!embedded && (!blueRaw || !greenRaw)) {
    errors.push(`${blueRaw ? 'GREEN_HOST' : 'BLUE_HOST'} is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default`);
  }
  const hosts = {} as Record<Colour, HostTarget>;
  for (const colour of COLOURS) {
    const prefix = colour.toUpperCase();
    const fallback: HostLocation = { kind: 'file', appRoot: path.join(dataDir, 'hosts', colour) };
    const target = embedded ? fallback : read(`${prefix}_HOST`, hostSchema(appRoot), fallback);
    const defaultUrl = embedded
      ? `http://127.0.0.1:${EMBEDDED_HOST_PORTS[colour]}/`
      : target.kind === 'ssh'
        ? `http://${formatHost(target.host)}/`
        : '';
    const url = read(`${prefix}_URL`, httpUrlSchema, defaultUrl);
    hosts[colour] = { ...target, url } as HostTarget;
  }

  const providerKind = read(
    'BLUEGREEN_PROVIDER',
    z.enum(['local', 'digitalocean', 'azure-appgw', 'azure-ip'], { message: 'expected one of digitalocean, azure-appgw, azure-ip, local' }),
    'local',
  );
  const routerListen = read('BLUEGREEN_ROUTER_LISTEN', listenSchema, { host: '127.0.0.1', port: 8080 });
  let provider: ProviderConfig = { kind: 'local', listen: routerListen };
  const azure = (): AzureCredentials => ({
    tenantId: required('AZURE_TENANT_ID', 'the Azure providers sign in as a service principal'),
    clientId: required('AZURE_CLIENT_ID', 'the Azure providers sign in as a service principal'),
    clientSecret: required('AZURE_CLIENT_SECRET', 'the Azure providers sign in as a service principal'),
    subscriptionId: required('AZURE_SUBSCRIPTION_ID', 'the Azure resources live in this subscription'),
    resourceGroup: requiredName('AZURE_RESOURCE_GROUP', 'the Azure resources live in this resource group'),
    armUrl: read('AZURE_ARM_URL', httpUrlSchema, 'https://management.azure.com').replace(/\/+$/, ''),
    authorityUrl: read('AZURE_AUTHORITY_URL', httpUrlSchema, 'https://login.microsoftonline.com').replace(/\/+$/, ''),
  });
  if (providerKind === 'digitalocean') {
    const why = 'the digitalocean provider moves the reserved IP between the two droplets';
    provider = {
      kind: 'digitalocean',
      token: required('DIGITALOCEAN_TOKEN', 'the digitalocean provider calls the API with it'),
      apiUrl: read('DIGITALOCEAN_API_URL', httpUrlSchema, 'https://api.digitalocean.com').replace(/\/+$/, ''),
      reservedIp:
        env.BLUEGREEN_RESERVED_IP === undefined || env.BLUEGREEN_RESERVED_IP === ''
          ? required('BLUEGREEN_RESERVED_IP', why)
          : read('BLUEGREEN_RESERVED_IP', z.ipv4({ message: 'expected an IPv4 address' }), ''),
      droplets: { blue: requiredName('BLUE_DROPLET', why), green: requiredName('GREEN_DROPLET', why) },
    };
  } else if (providerKind === 'azure-appgw') {
    const why = 'the azure-appgw provider switches the routing rule between the two backend pools';
    provider = {
      kind: 'azure-appgw',
      azure: azure(),
      gateway: requiredName('AZURE_APP_GATEWAY', why),
      routingRule: requiredName('AZURE_ROUTING_RULE', why),
      pools: { blue: requiredName('BLUE_POOL', why), green: requiredName('GREEN_POOL', why) },
    };
  } else if (providerKind === 'azure-ip') {
    const why = 'the azure-ip provider moves the public IP between the two network interfaces';
    provider = {
      kind: 'azure-ip',
      azure: azure(),
      publicIp: requiredName('AZURE_PUBLIC_IP', why),
      nics: { blue: requiredName('BLUE_NIC', why), green: requiredName('GREEN_NIC', why) },
    };
  }

  const adminUser = read('BLUEGREEN_ADMIN_USER', z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a login name'), 'root');
  const webServer = read('BLUEGREEN_WEB_SERVER', z.enum(['apache', 'nginx'], { message: 'expected apache or nginx' }), 'apache');
  const webListen = read(
    'BLUEGREEN_WEB_LISTEN',
    z.string().superRefine((value, ctx) => {
      const problem = checkWebListen(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    '80',
  );
  const sudoCommands = read(
    'BLUEGREEN_SUDO_COMMANDS',
    z
      .string()
      .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
      .refine(
        (commands) => commands.every((c) => /^\/[A-Za-z0-9_./-]+( [A-Za-z0-9_./=:@-]+)*$/.test(c)),
        'expected a comma-separated list of commands with absolute paths, e.g. /usr/bin/systemctl reload apache2',
      ),
    [],
  );

  if (errors.length > 0) return { config: undefined, errors };
  // With the local router, production is the router.
  const productionUrl = publicUrl ?? (provider.kind === 'local' ? `http://${formatHost(provider.listen.host)}:${provider.listen.port}/` : undefined);
  return {
    config: {
      dataDir,
      listen,
      tls: tlsCert && tlsKey ? { cert: path.resolve(cwd, tlsCert), key: path.resolve(cwd, tlsKey) } : undefined,
      embedded,
      hosts,
      appRoot,
      sshKeyPath: path.resolve(cwd, env.BLUEGREEN_SSH_KEY || path.join(dataDir, 'id_ed25519')),
      knownHostsPath: path.resolve(cwd, env.BLUEGREEN_KNOWN_HOSTS || path.join(dataDir, 'known_hosts')),
      keepReleases,
      parallel,
      lockWaitMs: lockWaitSeconds * 1000,
      publicUrl: productionUrl,
      healthPath,
      verifyTimeoutMs: verifyTimeoutSeconds * 1000,
      provider,
      admin: { user: adminUser, keyPath: env.BLUEGREEN_ADMIN_KEY ? path.resolve(cwd, env.BLUEGREEN_ADMIN_KEY) : undefined },
      webServer,
      webListen,
      sudoCommands,
    },
    errors: [],
  };
}

/** A host for a URL: IPv6 addresses go in brackets. */
function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
