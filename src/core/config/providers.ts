/** The traffic section: BLUEGREEN_PROVIDER and each provider's own variables. */
import { z } from 'zod';
import { COLOURS, type Colour } from '../colour.js';
import type { Reader } from './reader.js';
import type { AzureCredentials, BalancerTarget, ProviderConfig } from './types.js';
import { headerTokenSchema, httpUrlSchema, listenSchema, nameSchema, secretTextSchema } from './values.js';

export const PROVIDER_KINDS = ['local', 'digitalocean', 'digitalocean-lb', 'azure-appgw', 'azure-ip', 'azure-slots'] as const;

const apiBase = httpUrlSchema({ realPort: true, apiBase: true });

/** A DigitalOcean tag: letters, digits, `:`, `-`, `_`, at most 255 (the API's rule). */
const tagSchema = z.string().regex(/^[A-Za-z0-9:_-]{1,255}$/, 'expected a tag name: up to 255 letters, digits, : - _');

/** Droplets by id or name, comma-separated, each once. */
const dropletListSchema = z.string().transform((value, ctx) => {
  const droplets = value.split(',').map((s) => s.trim());
  if (droplets.some((d) => !nameSchema.safeParse(d).success)) {
    ctx.addIssue({ code: 'custom', message: 'expected droplet ids or names (letters, digits, . _ -), comma-separated' });
    return z.NEVER;
  }
  const twice = droplets.find((d, i) => droplets.indexOf(d) !== i);
  if (twice !== undefined) {
    ctx.addIssue({ code: 'custom', message: `expected each droplet once (${JSON.stringify(twice)} is named twice)` });
    return z.NEVER;
  }
  return droplets;
});

/** DIGITALOCEAN_TOKEN and DIGITALOCEAN_API_URL, for either DigitalOcean provider. */
function digitalOceanAccess(reader: Reader, kind: string): { token: string; apiUrl: string } {
  return {
    token: reader.required('DIGITALOCEAN_TOKEN', `the ${kind} provider calls the API with it`, headerTokenSchema, ''),
    apiUrl: reader.read('DIGITALOCEAN_API_URL', apiBase, 'https://api.digitalocean.com').replace(/\/+$/, ''),
  };
}

/** Each colour's `*_TAG` or `*_DROPLET` (exactly one of them), and no tag or droplet named for both colours. */
function balancerTargets(reader: Reader): Record<Colour, BalancerTarget> {
  const targets = {} as Record<Colour, BalancerTarget>;
  for (const colour of COLOURS) {
    const tagVariable = `${colour.toUpperCase()}_TAG`;
    const dropletVariable = `${colour.toUpperCase()}_DROPLET`;
    if (reader.isSet(tagVariable) && reader.isSet(dropletVariable)) {
      reader.errors.push(`${tagVariable} and ${dropletVariable} are both set: the digitalocean-lb provider sends ${colour}'s traffic to a tag or to a list of droplets, not both`);
    } else if (!reader.isSet(tagVariable) && !reader.isSet(dropletVariable)) {
      reader.errors.push(
        `${tagVariable} (or ${dropletVariable}) is not set: the digitalocean-lb provider sends ${colour}'s traffic to the droplets with a tag, or to a list of droplets`,
      );
    }
    targets[colour] = reader.isSet(tagVariable) ? { tag: reader.read(tagVariable, tagSchema, '') } : { droplets: reader.read(dropletVariable, dropletListSchema, []) };
  }
  const { blue, green } = targets;
  if ('tag' in blue && 'tag' in green && blue.tag !== '' && blue.tag === green.tag) {
    reader.errors.push(`BLUE_TAG and GREEN_TAG are the same tag ${JSON.stringify(blue.tag)}: blue and green must be different droplets`);
  }
  if ('droplets' in blue && 'droplets' in green) {
    const shared = blue.droplets.find((d) => green.droplets.includes(d));
    if (shared !== undefined) reader.errors.push(`BLUE_DROPLET and GREEN_DROPLET both name ${JSON.stringify(shared)}: a droplet belongs to one colour`);
  }
  return targets;
}

function azureCredentials(reader: Reader): AzureCredentials {
  const signIn = 'the Azure providers sign in as a service principal';
  return {
    tenantId: reader.required('AZURE_TENANT_ID', signIn, nameSchema, ''),
    clientId: reader.required('AZURE_CLIENT_ID', signIn, nameSchema, ''),
    clientSecret: reader.required('AZURE_CLIENT_SECRET', signIn, secretTextSchema, ''),
    subscriptionId: reader.required('AZURE_SUBSCRIPTION_ID', 'the Azure resources live in this subscription', nameSchema, ''),
    resourceGroup: reader.required('AZURE_RESOURCE_GROUP', 'the Azure resources live in this resource group', nameSchema, ''),
    armUrl: reader.read('AZURE_ARM_URL', apiBase, 'https://management.azure.com').replace(/\/+$/, ''),
    authorityUrl: reader.read('AZURE_AUTHORITY_URL', apiBase, 'https://login.microsoftonline.com').replace(/\/+$/, ''),
  };
}

export function parseProvider(reader: Reader): ProviderConfig {
  const kind = reader.read('BLUEGREEN_PROVIDER', z.enum(PROVIDER_KINDS, { message: 'expected one of digitalocean, digitalocean-lb, azure-appgw, azure-ip, azure-slots, local' }), 'local');
  const routerListen = reader.read('BLUEGREEN_ROUTER_LISTEN', listenSchema, { host: '127.0.0.1', port: 8080 });
  const name = (variable: string, why: string) => reader.required(variable, why, nameSchema, '');
  switch (kind) {
    case 'local':
      return { kind: 'local', listen: routerListen };
    case 'digitalocean': {
      const why = 'the digitalocean provider moves the reserved IP between the two droplets';
      return {
        kind: 'digitalocean',
        ...digitalOceanAccess(reader, 'digitalocean'),
        reservedIp: reader.required('BLUEGREEN_RESERVED_IP', why, z.ipv4({ message: 'expected an IPv4 address' }), ''),
        droplets: { blue: name('BLUE_DROPLET', why), green: name('GREEN_DROPLET', why) },
      };
    }
    case 'digitalocean-lb':
      return {
        kind: 'digitalocean-lb',
        ...digitalOceanAccess(reader, 'digitalocean-lb'),
        loadBalancer: name('DIGITALOCEAN_LOAD_BALANCER', "the digitalocean-lb provider points this load balancer (id or name) at the live colour's droplets"),
        targets: balancerTargets(reader),
      };
    case 'azure-appgw': {
      const why = 'the azure-appgw provider switches the routing rule between the two backend pools';
      return {
        kind: 'azure-appgw',
        azure: azureCredentials(reader),
        gateway: name('AZURE_APP_GATEWAY', why),
        routingRule: name('AZURE_ROUTING_RULE', why),
        pools: { blue: name('BLUE_POOL', why), green: name('GREEN_POOL', why) },
      };
    }
    case 'azure-ip': {
      const why = 'the azure-ip provider moves the public IP between the two network interfaces';
      return {
        kind: 'azure-ip',
        azure: azureCredentials(reader),
        publicIp: name('AZURE_PUBLIC_IP', why),
        nics: { blue: name('BLUE_NIC', why), green: name('GREEN_NIC', why) },
      };
    }
    case 'azure-slots':
      return {
        kind: 'azure-slots',
        azure: azureCredentials(reader),
        webapp: name('AZURE_WEBAPP', 'the azure-slots provider deploys to and swaps the slots of this App Service app'),
        slot: reader.read('AZURE_SLOT', nameSchema.refine((slot) => slot.toLowerCase() !== 'production', 'expected the second slot, not production'), 'staging'),
      };
  }
}
