/**
 * The `azure-appgw` provider: an Application Gateway routing rule sends production to the blue or the green
 * backend pool. Moving traffic = GET the whole gateway, point the rule's `backendAddressPool.id` at the other
 * pool (pools by name in the same gateway), PUT the gateway back, follow the long-running operation.
 */
import { COLOURS, type Colour } from '../../../core/colour.js';
import type { ProviderConfig } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import type { Provider, ProviderOptions } from '../provider.js';
import { createArmClient } from './arm.js';

type AppGatewayConfig = Extract<ProviderConfig, { kind: 'azure-appgw' }>;

export const APP_GATEWAY_API_VERSION = '2024-05-01';

interface Named {
  id?: string;
  name: string;
  properties?: any;
}

const sameId = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

export function createAzureAppGatewayProvider(config: AppGatewayConfig, options: ProviderOptions = {}): Provider {
  const arm = createArmClient(config.azure, options);
  const path = arm.networkPath('applicationGateways', config.gateway);
  const what = `application gateway ${config.gateway} (AZURE_APP_GATEWAY)`;
  const description = `azure application gateway ${config.gateway}, rule ${config.routingRule}`;

  /** The rule and both pools' ids, from a gateway body; UserErrors naming the variable when one is missing. */
  function parts(gateway: any): { rule: Named; poolIds: Record<Colour, string> } {
    const rules: Named[] = gateway?.properties?.requestRoutingRules ?? [];
    const rule = rules.find((r) => r.name === config.routingRule);
    if (!rule) {
      throw new UserError(
        `application gateway ${config.gateway} has no routing rule ${config.routingRule} (AZURE_ROUTING_RULE); it has: ${rules.map((r) => r.name).join(', ') || 'none'}`,
        { hint: 'set AZURE_ROUTING_RULE to one of those', exitCode: 2 },
      );
    }
    if (!rule.properties?.backendAddressPool?.id) {
      throw new UserError(`routing rule ${config.routingRule} of ${config.gateway} has no backend pool of its own (does it route by URL path map or redirect?)`, {
        hint: 'use a basic rule that sends to one backend pool',
        exitCode: 2,
      });
    }
    const pools: Named[] = gateway?.properties?.backendAddressPools ?? [];
    const poolIds = {} as Record<Colour, string>;
    for (const colour of COLOURS) {
      const pool = pools.find((p) => p.name === config.pools[colour]);
      if (!pool?.id) {
        throw new UserError(
          `application gateway ${config.gateway} has no backend pool ${config.pools[colour]} (${colour.toUpperCase()}_POOL); it has: ${pools.map((p) => p.name).join(', ') || 'none'}`,
          { hint: `set ${colour.toUpperCase()}_POOL to one of those`, exitCode: 2 },
        );
      }
      poolIds[colour] = pool.id;
    }
    return { rule, poolIds };
  }

  /** The colour whose pool the rule sends to, or a phrase saying where it sends instead. */
  function live(gateway: any): { colour: Colour | undefined; where: string } {
    const { rule, poolIds } = parts(gateway);
    const id: string = rule.properties.backendAddressPool.id;
    const colour = COLOURS.find((c) => sameId(poolIds[c], id));
    return { colour, where: colour ? `${colour} (pool ${config.pools[colour]})` : `pool ${id.split('/').pop()}, neither blue nor green` };
  }

  return {
    description,

    async liveColour() {
      return live(await arm.get(path, APP_GATEWAY_API_VERSION, what)).colour;
    },

    async moveTraffic(colour, say) {
      const deadline = arm.deadline();
      const gateway = await arm.get(path, APP_GATEWAY_API_VERSION, what, deadline);
      const before = live(gateway);
      if (before.colour === colour) {
        say(`${description} already sends to ${before.where}`);
        return;
      }
      const { rule, poolIds } = parts(gateway);
      rule.properties.backendAddressPool = { id: poolIds[colour] };
      say(`${description} sends to ${before.where}; switching it to ${colour} (pool ${config.pools[colour]}); gateway updates take a few minutes`);
      let after: any;
      try {
        after = await arm.put(path, APP_GATEWAY_API_VERSION, gateway, what, deadline);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        let now: string;
        try {
          now = `it sends to ${live(await arm.get(path, APP_GATEWAY_API_VERSION, what, arm.deadline())).where}`;
        } catch (readError) {
          now = `where it sends now could not be read (${(readError as Error).message})`;
        }
        throw new UserError(`${error.message}; rule ${config.routingRule}: ${now}`, { hint: error.hint, exitCode: error.exitCode, cause: error });
      }
      const result = live(after);
      if (result.colour !== colour) {
        throw new UserError(`the update of ${config.gateway} succeeded but rule ${config.routingRule} sends to ${result.where}`, {
          hint: 'someone else may be changing the gateway; see its Activity log',
        });
      }
      say(`${description} now sends to ${result.where}`);
    },

    async close() {},
  };
}
