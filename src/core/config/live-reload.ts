/**
 * Which `.env` edits a running server may apply. Anything that decides where deploys and traffic go (hosts,
 * app root, data dir, listen addresses, the provider and its targets) is fixed for the life of the process:
 * an edit that changes any of it is refused whole, so the server never runs half an old and half a new
 * configuration, nor quietly starts deploying somewhere else.
 */
import type { Config, HostTarget } from './types.js';

export type ReloadDecision =
  | { action: 'unchanged' }
  /** `needRestart`: the variables whose change needs a restart; nothing of the edit applies. */
  | { action: 'refuse'; needRestart: string[]; changed: string[] }
  | { action: 'apply'; changed: string[]; reconnectHosts: boolean; recreateProvider: boolean };

const RESTART_VARIABLES = new Set([
  'BLUEGREEN_DATA_DIR',
  'BLUEGREEN_LISTEN',
  'BLUEGREEN_SSH_LISTEN',
  'BLUEGREEN_TLS_CERT',
  'BLUEGREEN_TLS_KEY',
  'BLUE_HOST',
  'GREEN_HOST',
  'BLUE_URL',
  'GREEN_URL',
  'BLUEGREEN_HOST_TEMPLATE',
  'BLUEGREEN_URL_TEMPLATE',
  'BLUEGREEN_HOST_NETWORK',
  'BLUE_VMSS',
  'GREEN_VMSS',
  'BLUEGREEN_APP_ROOT',
  'BLUEGREEN_PROVIDER',
  'BLUEGREEN_ROUTER_LISTEN',
  'DIGITALOCEAN_API_URL',
  'BLUEGREEN_RESERVED_IP',
  'BLUE_DROPLET',
  'GREEN_DROPLET',
  'DIGITALOCEAN_LOAD_BALANCER',
  'BLUE_TAG',
  'GREEN_TAG',
  'AZURE_TENANT_ID',
  'AZURE_SUBSCRIPTION_ID',
  'AZURE_RESOURCE_GROUP',
  'AZURE_ARM_URL',
  'AZURE_AUTHORITY_URL',
  'AZURE_APP_GATEWAY',
  'AZURE_ROUTING_RULE',
  'BLUE_POOL',
  'GREEN_POOL',
  'AZURE_PUBLIC_IP',
  'BLUE_NIC',
  'GREEN_NIC',
  'AZURE_WEBAPP',
  'AZURE_SLOT',
  'BLUEGREEN_CONNECT_TO',
]);
/** Changes that apply once the hosts' SSH connections are made again. */
const RECONNECT_VARIABLES = new Set(['BLUEGREEN_SSH_KEY', 'BLUEGREEN_KNOWN_HOSTS']);
/** Credentials may be rotated live: the provider is made again with them. */
const CREDENTIAL_VARIABLES = new Set(['DIGITALOCEAN_TOKEN', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET']);

function location(host: HostTarget): unknown {
  return host.kind === 'ssh' ? [host.kind, host.user, host.host, host.port, host.appRoot] : [host.kind, host.appRoot];
}

/**
 * Each variable's effective value (secrets included, for comparing only: never shown). A new variable goes
 * here, and in RESTART_VARIABLES when it decides where deploys or traffic go: one missing here would change
 * silently on a reload.
 */
function valuesByVariable(config: Config): Record<string, unknown> {
  const p = config.provider;
  const azure = p.kind === 'azure-appgw' || p.kind === 'azure-ip' ? p.azure : undefined;
  const digitalOcean = p.kind === 'digitalocean' || p.kind === 'digitalocean-lb' ? p : undefined;
  const balancer = p.kind === 'digitalocean-lb' ? p : undefined;
  const balancerDroplets = (colour: 'blue' | 'green') => {
    const target = balancer?.targets[colour];
    return target && 'droplets' in target ? target.droplets : undefined;
  };
  const balancerTag = (colour: 'blue' | 'green') => {
    const target = balancer?.targets[colour];
    return target && 'tag' in target ? target.tag : undefined;
  };
  const scaleSet = (colour: 'blue' | 'green') => {
    const source = config.discovery?.sources[colour];
    return source?.kind === 'azure-vmss' ? source.vmss : undefined;
  };
  return {
    BLUEGREEN_DATA_DIR: config.dataDir,
    BLUEGREEN_LISTEN: config.listen,
    BLUEGREEN_SSH_LISTEN: config.sshListen,
    BLUEGREEN_TLS_CERT: config.tls?.cert,
    BLUEGREEN_TLS_KEY: config.tls?.key,
    BLUE_HOST: config.hosts.blue.map(location),
    GREEN_HOST: config.hosts.green.map(location),
    BLUE_URL: config.hosts.blue.map((host) => host.url),
    GREEN_URL: config.hosts.green.map((host) => host.url),
    BLUEGREEN_HOST_TEMPLATE: config.discovery?.hostTemplate,
    BLUEGREEN_URL_TEMPLATE: config.discovery?.urlTemplate,
    BLUEGREEN_HOST_NETWORK: config.discovery?.network,
    BLUE_VMSS: scaleSet('blue'),
    GREEN_VMSS: scaleSet('green'),
    BLUEGREEN_APP_ROOT: config.appRoot,
    BLUEGREEN_SSH_KEY: config.sshKeyPath,
    BLUEGREEN_KNOWN_HOSTS: config.knownHostsPath,
    BLUEGREEN_KEEP_RELEASES: config.keepReleases,
    BLUEGREEN_PARALLEL: config.parallel,
    BLUEGREEN_LOCK_WAIT: config.lockWaitMs,
    BLUEGREEN_PUBLIC_URL: config.publicUrl,
    BLUEGREEN_HEALTH_PATH: config.healthPath,
    BLUEGREEN_VERIFY_TIMEOUT: config.verifyTimeoutMs,
    BLUEGREEN_PROVIDER: p.kind,
    BLUEGREEN_ROUTER_LISTEN: p.kind === 'local' ? p.listen : undefined,
    DIGITALOCEAN_TOKEN: digitalOcean?.token,
    DIGITALOCEAN_API_URL: digitalOcean?.apiUrl,
    BLUEGREEN_RESERVED_IP: p.kind === 'digitalocean' ? p.reservedIp : undefined,
    BLUE_DROPLET: p.kind === 'digitalocean' ? p.droplets.blue : balancerDroplets('blue'),
    GREEN_DROPLET: p.kind === 'digitalocean' ? p.droplets.green : balancerDroplets('green'),
    DIGITALOCEAN_LOAD_BALANCER: balancer?.loadBalancer,
    BLUE_TAG: balancerTag('blue'),
    GREEN_TAG: balancerTag('green'),
    AZURE_TENANT_ID: azure?.tenantId,
    AZURE_CLIENT_ID: azure?.clientId,
    AZURE_CLIENT_SECRET: azure?.clientSecret,
    AZURE_SUBSCRIPTION_ID: azure?.subscriptionId,
    AZURE_RESOURCE_GROUP: azure?.resourceGroup,
    AZURE_ARM_URL: azure?.armUrl,
    AZURE_AUTHORITY_URL: azure?.authorityUrl,
    AZURE_APP_GATEWAY: p.kind === 'azure-appgw' ? p.gateway : undefined,
    AZURE_ROUTING_RULE: p.kind === 'azure-appgw' ? p.routingRule : undefined,
    BLUE_POOL: p.kind === 'azure-appgw' ? p.pools.blue : undefined,
    GREEN_POOL: p.kind === 'azure-appgw' ? p.pools.green : undefined,
    AZURE_PUBLIC_IP: p.kind === 'azure-ip' ? p.publicIp : undefined,
    BLUE_NIC: p.kind === 'azure-ip' ? p.nics.blue : undefined,
    GREEN_NIC: p.kind === 'azure-ip' ? p.nics.green : undefined,
    BLUEGREEN_ADMIN_USER: config.admin.user,
    BLUEGREEN_ADMIN_KEY: config.admin.keyPath,
    BLUEGREEN_WEB_SERVER: config.webServer,
    BLUEGREEN_WEB_LISTEN: config.webListen,
    BLUEGREEN_SUDO_COMMANDS: config.sudoCommands,
    BLUEGREEN_AUTO_FLIP: config.autoFlip,
    BLUEGREEN_NOTIFY_URLS: config.notify.urls,
    BLUEGREEN_NOTIFY_SECRET: config.notify.secret,
    BLUEGREEN_SHARED_PATHS: config.sharedPaths,
    BLUEGREEN_HOOK_TIMEOUT: config.hookTimeoutSeconds,
  };
}

/** The variables whose effective values differ, in a stable order. */
function changedVariables(current: Config, next: Config): string[] {
  const before = valuesByVariable(current);
  const after = valuesByVariable(next);
  return Object.keys(after).filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
}

/** What a running server does with `next`, read from `.env` while `current` is in force. */
export function decideReload(current: Config, next: Config): ReloadDecision {
  const changed = changedVariables(current, next);
  if (changed.length === 0) return { action: 'unchanged' };
  const needRestart = changed.filter((name) => RESTART_VARIABLES.has(name));
  if (needRestart.length > 0) return { action: 'refuse', needRestart, changed };
  return {
    action: 'apply',
    changed,
    reconnectHosts: changed.some((name) => RECONNECT_VARIABLES.has(name)),
    recreateProvider: changed.some((name) => CREDENTIAL_VARIABLES.has(name)),
  };
}
