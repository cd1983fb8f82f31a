/**
 * A colour's hosts as they are now: the listed ones as they are, or those found by tag (DigitalOcean) or scale
 * set (Azure), addressed through the templates. Looked up again at every call: autoscaling adds and removes hosts.
 */
import { SLOT_WEB_ROOT, appServiceSlots } from '../adapters/providers/azure/app-service.js';
import { createArmClient } from '../adapters/providers/azure/arm.js';
import { scaleSetAddresses } from '../adapters/providers/azure/scale-set-addresses.js';
import { createDigitalOceanApi } from '../adapters/providers/digitalocean/api.js';
import { taggedDroplets } from '../adapters/providers/digitalocean/tagged-droplets.js';
import type { ProviderOptions } from '../adapters/providers/provider.js';
import type { CloudClient } from '../adapters/http/cloud-client.js';
import type { ArmClient } from '../adapters/providers/azure/arm.js';
import type { Colour } from '../core/colour.js';
import { type Config, type HostDiscovery, type HostTarget, discoveredHost } from '../core/config.js';
import { UserError } from '../core/errors.js';

/** Looks up a colour's hosts; the API clients (and an Azure token) are kept between lookups. */
export type HostResolver = (colour: Colour) => Promise<HostTarget[]>;

export function createHostResolver(config: Config, options: ProviderOptions = {}): HostResolver {
  let digitalOcean: CloudClient | undefined;
  let arm: ArmClient | undefined;
  const provider = config.provider;

  async function addresses(colour: Colour, discovery: HostDiscovery): Promise<string[]> {
    const source = discovery.sources[colour];
    const variable = `${colour.toUpperCase()}_${source.kind === 'digitalocean-tag' ? 'TAG' : 'VMSS'}`;
    if (source.kind === 'digitalocean-tag' && provider.kind === 'digitalocean-lb') {
      digitalOcean ??= createDigitalOceanApi(provider, options, {
        forbidden: 'give the token in DIGITALOCEAN_TOKEN read access to droplets',
        refused: `check ${variable} and DIGITALOCEAN_API_URL`,
      });
      const droplets = await taggedDroplets(digitalOcean, source.tag, digitalOcean.deadline());
      if (droplets.length === 0) {
        throw new UserError(`no droplet has the tag ${source.tag} (${variable}): ${colour} has no hosts`, {
          hint: `tag ${colour}'s droplets with ${source.tag} (\`doctl compute droplet tag\`), or set ${variable}`,
        });
      }
      return droplets.map((droplet) => {
        const address = droplet.v4.find((network) => network.type === discovery.network)?.ip;
        if (address) return address;
        const other = discovery.network === 'private' ? 'public' : 'private';
        throw new UserError(`droplet ${droplet.name} (tag ${source.tag}) has no ${discovery.network} IPv4 address`, {
          hint: `give it one, or set BLUEGREEN_HOST_NETWORK=${other} to reach every droplet by its ${other} address`,
        });
      });
    }
    if (source.kind === 'azure-vmss' && provider.kind === 'azure-appgw') {
      arm ??= createArmClient(provider.azure, options);
      const found = await scaleSetAddresses(arm, source.vmss, arm.deadline());
      if (found.length === 0) {
        throw new UserError(`scale set ${source.vmss} (${variable}) has no instances: ${colour} has no hosts`, {
          hint: `scale it out (\`az vmss scale --new-capacity N\`), or set ${variable}`,
        });
      }
      return found;
    }
    throw new Error(`hosts by ${source.kind} need the matching provider, not ${provider.kind}`);
  }

  return async (colour) => {
    if (provider.kind === 'azure-slots') {
      const { production, sites } = await appServiceSlots(provider, config.dataDir, options).placement();
      const site = sites[production === colour ? 'production' : 'idle'];
      return [{ kind: 'app-service-slot', slot: site.slot, host: site.host, scmHost: site.scmHost, appRoot: SLOT_WEB_ROOT, url: site.url }];
    }
    const discovery = config.discovery;
    if (!discovery) return config.hosts[colour];
    return (await addresses(colour, discovery)).map((ip) => discoveredHost(discovery, config.appRoot, ip));
  };
}

/** A colour's hosts as they are now (one lookup; a server keeps a resolver instead). */
export function resolveHosts(config: Config, colour: Colour, options: ProviderOptions = {}): Promise<HostTarget[]> {
  return createHostResolver(config, options)(colour);
}
