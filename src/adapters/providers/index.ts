/** Picks the provider for the configured kind of infrastructure. Providers never import this file. */
import type { Config } from '../../core/config.js';
import { createAzureAppGatewayProvider } from './azure/app-gateway.js';
import { createAzurePublicIpProvider } from './azure/public-ip.js';
import { createAzureSlotsProvider } from './azure/slots.js';
import { createDigitalOceanLoadBalancerProvider } from './digitalocean/load-balancer.js';
import { createDigitalOceanProvider } from './digitalocean/reserved-ip.js';
import { createLocalProvider } from './local/router.js';
import type { Provider, ProviderOptions } from './provider.js';

/** The provider for `config.provider.kind`; `local` keeps its state file in `config.dataDir`. */
export function createProvider(config: Config, options: ProviderOptions = {}): Provider {
  const provider = config.provider;
  switch (provider.kind) {
    case 'digitalocean':
      return createDigitalOceanProvider(provider, options);
    case 'digitalocean-lb':
      return createDigitalOceanLoadBalancerProvider(provider, options);
    case 'azure-appgw':
      return createAzureAppGatewayProvider(provider, options);
    case 'azure-ip':
      return createAzurePublicIpProvider(provider, options);
    case 'azure-slots':
      return createAzureSlotsProvider(provider, config.dataDir, options);
    case 'local':
      return createLocalProvider({ listen: provider.listen, dataDir: config.dataDir, ...options });
  }
}
