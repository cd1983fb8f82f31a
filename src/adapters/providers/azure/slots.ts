/** The `azure-slots` provider: production traffic goes to whichever colour is in the production slot; a swap moves it. */
import { type Colour, otherColour } from '../../../core/colour.js';
import type { ProviderOptions, Provider } from '../provider.js';
import { type SlotsConfig, appServiceSlots } from './app-service.js';

export function createAzureSlotsProvider(config: SlotsConfig, dataDir: string, options: ProviderOptions = {}): Provider {
  const slots = appServiceSlots(config, dataDir, options);
  return {
    description: `App Service ${config.webapp} slots (production, ${config.slot})`,
    async liveColour(): Promise<Colour> {
      return (await slots.placement()).production;
    },
    async moveTraffic(colour, say) {
      const { production } = await slots.placement(say);
      if (production !== colour) await slots.swap(production, say);
    },
    async close() {},
    async productionUrl() {
      return (await slots.sites()).production.url;
    },
    async slots() {
      // What each slot serves was read to place the colours: not read again.
      const { production, sites, serving } = await slots.placement();
      return [sites.production, sites.idle].map((site) => ({
        slot: site.slot,
        colour: site.role === 'production' ? production : otherColour(production),
        host: site.host,
        revision: serving[site.role] ?? null,
      }));
    },
  };
}
