import t from 'tap';
import { createProvider } from '../../../src/adapters/providers/index.js';
import { parseConfig } from '../../../src/core/config.js';

const azure = {
  AZURE_TENANT_ID: 't',
  AZURE_CLIENT_ID: 'c',
  AZURE_CLIENT_SECRET: 's',
  AZURE_SUBSCRIPTION_ID: 'sub',
  AZURE_RESOURCE_GROUP: 'rg',
};

t.test('createProvider picks the provider by BLUEGREEN_PROVIDER', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /^local router at http:\/\/127\.0\.0\.1:8080$/],
    [{ BLUEGREEN_PROVIDER: 'local', BLUEGREEN_ROUTER_LISTEN: '0.0.0.0:9090' }, /^local router at http:\/\/127\.0\.0\.1:9090$/],
    [
      { BLUEGREEN_PROVIDER: 'digitalocean', DIGITALOCEAN_TOKEN: 'x', BLUEGREEN_RESERVED_IP: '203.0.113.10', BLUE_DROPLET: 'a', GREEN_DROPLET: 'b' },
      /^digitalocean reserved IP 203\.0\.113\.10$/,
    ],
    [
      {
        BLUEGREEN_PROVIDER: 'digitalocean-lb',
        DIGITALOCEAN_TOKEN: 'x',
        DIGITALOCEAN_LOAD_BALANCER: 'web-lb',
        BLUE_TAG: 'web-blue',
        GREEN_DROPLET: 'web-g1,web-g2',
        BLUE_HOST: 'ssh://deploy@10.0.0.5',
        GREEN_HOST: 'ssh://deploy@10.0.0.6',
      },
      /^digitalocean load balancer web-lb$/,
    ],
    [
      { BLUEGREEN_PROVIDER: 'azure-appgw', ...azure, AZURE_APP_GATEWAY: 'gw', AZURE_ROUTING_RULE: 'r', BLUE_POOL: 'p1', GREEN_POOL: 'p2' },
      /^azure application gateway gw, rule r$/,
    ],
    [{ BLUEGREEN_PROVIDER: 'azure-ip', ...azure, AZURE_PUBLIC_IP: 'pip', BLUE_NIC: 'n1', GREEN_NIC: 'n2' }, /^azure public IP pip$/],
  ];
  for (const [env, description] of cases) {
    const { config, errors } = parseConfig(env, '/tmp');
    t.same(errors, []);
    const provider = createProvider(config!);
    t.match(provider.description, description);
    await provider.close();
  }
});
