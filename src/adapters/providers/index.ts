/** Picks the provider for the configured kind of infrastructure. */
import type { Config } from '../../core/config.js';
import { createAzureAppGatewayProvider } from './azure-appgw.js';
import { createAzurePublicIpProvider } from './azure-ip.js';
import { createDigitalOceanProvider } from './digitalocean.js';
import { createLocalProvider } from './local-router.js';
import type { Provider } from './provider.js';

/** Timing knobs shared by all providers; tests inject a virtual clock. Defaults suit the real APIs. */
export interface ProviderOptions {
  /** Pause between polls of a running operation (when the API does not say, via Retry-After). */
  pollIntervalMs?: number;
  /** `moveTraffic` (and each read) gives up after this long, saying where traffic points then. */
  deadlineMs?: number;
  /** Per-HTTP-request timeout. */
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The provider for `config.provider.kind`; `local` keeps its state file in `config.dataDir`. */
export function createProvider(config: Config, options: ProviderOptions = {}): Provider {
  const provider = config.provider;
  switch (provider.kind) {
    case 'digitalocean':
      return createDigitalOceanProvider(provider, options);
    case 'azure-appgw':
      return createAzureAppGatewayProvider(provider, options);
    case 'azure-ip':
      return createAzurePublicIpProvider(provider, options);
    case 'local':
      return createLocalProvider({ listen: provider.listen, dataDir: config.dataDir, ...options });
  }
}
