/** The `azure-slots` provider: production traffic goes to whichever colour is in the production slot; a swap moves it. */
import type { Colour } from '../../../core/colour.js';
import type { ProviderOptions, Provider } from '../provider.js';
import { type SlotsConfig, createAppServiceSlots } from './app-service.js';

export function createAzureSlotsProvider(config: SlotsConfig, dataDir: string, options: ProviderOptions = {}): Provider {
  const slots = createAppServiceSlots(config, dataDir, options);
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
  };
}
