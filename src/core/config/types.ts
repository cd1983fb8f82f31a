import type { Colour } from '../colour.js';

/** Where a colour's releases live: a host over SSH, or a directory on this machine. */
export type HostLocation =
  | { kind: 'ssh'; user: string; host: string; port: number; appRoot: string }
  | { kind: 'file'; appRoot: string }
  /** An App Service slot (`azure-slots`): `host` its defaultHostName, `scmHost` its Kudu; found, never configured. */
  | { kind: 'app-service-slot'; slot: string; host: string; scmHost: string; appRoot: string };
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

/** Where a colour's hosts are found when `*_HOST` is unset: the droplets with a tag, or a scale set's instances. */
export type HostSource = { kind: 'digitalocean-tag'; tag: string } | { kind: 'azure-vmss'; vmss: string };

/** Hosts found by tag or scale set, looked up again at every deploy, flip and status (autoscaling adds and removes them). */
export interface HostDiscovery {
  sources: Record<Colour, HostSource>;
  /** `BLUEGREEN_HOST_TEMPLATE`: an `ssh://` URL with `{ip}` where each host's address goes. */
  hostTemplate: string;
  /** `BLUEGREEN_URL_TEMPLATE`: an `http(s)://` URL with `{ip}`, each host's own address for verification. */
  urlTemplate: string;
  /** `BLUEGREEN_HOST_NETWORK`: which of a host's addresses `{ip}` is. */
  network: 'private' | 'public';
}

/** Where a load balancer sends a colour's traffic: the droplets with a tag, or a list of droplets (ids or names). */
export type BalancerTarget = { tag: string } | { droplets: string[] };

export type ProviderConfig =
  | { kind: 'local'; listen: Listen }
  | { kind: 'digitalocean'; token: string; apiUrl: string; reservedIp: string; droplets: Record<Colour, string> }
  | { kind: 'digitalocean-lb'; token: string; apiUrl: string; loadBalancer: string; targets: Record<Colour, BalancerTarget> }
  | { kind: 'azure-appgw'; azure: AzureCredentials; gateway: string; routingRule: string; pools: Record<Colour, string> }
  | { kind: 'azure-ip'; azure: AzureCredentials; publicIp: string; nics: Record<Colour, string> }
  /** App Service: the colours live in the app's production slot and `slot`, exchanged by a swap. */
  | { kind: 'azure-slots'; azure: AzureCredentials; webapp: string; slot: string };

/** BLUEGREEN_CONNECT_TO: requests to `host:port` connect to `toHost:toPort` instead; TLS still checks `host`'s name. */
export interface ConnectTo {
  host: string;
  port: number;
  toHost: string;
  toPort: number;
}

export interface Listen {
  host: string;
  port: number;
}

export interface Config {
  dataDir: string;
  listen: Listen;
  /** Where git over SSH listens; undefined when BLUEGREEN_SSH_LISTEN is `off`. */
  sshListen: Listen | undefined;
  tls: { cert: string; key: string } | undefined;
  /** True when no hosts are configured: two `file://` hosts under the data dir, served locally. */
  embedded: boolean;
  /**
   * Each colour's hosts as `*_HOST` lists them (or the embedded default's): one or more. Empty when `discovery`
   * finds them: ask `resolveHosts` (src/deploy/resolve-hosts.ts) for a colour's hosts of now.
   */
  hosts: Record<Colour, HostTarget[]>;
  /** Set when the hosts are not listed but found by tag or scale set. */
  discovery: HostDiscovery | undefined;
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
  /** BLUEGREEN_AUTO_FLIP: a successful push to the idle colour flips to it (unless `-o no-flip`). */
  autoFlip: boolean;
  /** BLUEGREEN_NOTIFY_URLS (webhooks told of deploys, flips, rollbacks, activations, syncs) and the secret that signs each body. */
  notify: { urls: string[]; secret: string | undefined };
  /** BLUEGREEN_SHARED_PATHS: relative to the release, a trailing `/` for a directory. */
  sharedPaths: string[];
  /** BLUEGREEN_HOOK_TIMEOUT: how long one hook run may take. */
  hookTimeoutSeconds: number;
  /** BLUEGREEN_CONNECT_TO: where outgoing HTTP(S) requests to some host:port connect instead. */
  connectTo: ConnectTo[];
}

export type Env = Record<string, string | undefined>;

export type ConfigResult = { config: Config; errors: [] } | { config: undefined; errors: string[] };
