import t from 'tap';
import { type Env, parseConfig } from '../../../src/core/config.js';

const azure: Env = {
  BLUEGREEN_PROVIDER: 'azure-slots',
  AZURE_TENANT_ID: 't',
  AZURE_CLIENT_ID: 'c',
  AZURE_CLIENT_SECRET: 's',
  AZURE_SUBSCRIPTION_ID: 'sub',
  AZURE_RESOURCE_GROUP: 'rg',
};

t.test('azure-slots: the app and its second slot (staging by default); the colours have no hosts to list', async (t) => {
  const { config, errors } = parseConfig({ ...azure, AZURE_WEBAPP: 'shop' }, '/srv');
  t.same(errors, []);
  t.match(config?.provider, { kind: 'azure-slots', webapp: 'shop', slot: 'staging', azure: { tenantId: 't', armUrl: 'https://management.azure.com' } });
  t.same(config?.hosts, { blue: [], green: [] });
  t.notOk(config?.embedded);
  t.match(parseConfig({ ...azure, AZURE_WEBAPP: 'shop', AZURE_SLOT: 'preview' }, '/srv').config?.provider, { kind: 'azure-slots', slot: 'preview' });
});

t.test('azure-slots: what is missing or does not belong is named', async (t) => {
  t.same(parseConfig(azure, '/srv').errors, ['AZURE_WEBAPP is not set: the azure-slots provider deploys to and swaps the slots of this App Service app']);
  t.same(parseConfig({ ...azure, AZURE_WEBAPP: 'shop', AZURE_SLOT: 'Production' }, '/srv').errors, ['AZURE_SLOT="Production": expected the second slot, not production']);
  t.same(parseConfig({ ...azure, AZURE_WEBAPP: 'shop', BLUE_HOST: 'ssh://deploy@10.0.0.5', GREEN_URL: 'http://10.0.0.6/' }, '/srv').errors, [
    'BLUE_HOST is set, but BLUEGREEN_PROVIDER=azure-slots deploys to the slots of AZURE_WEBAPP (their host names are read from Azure): remove BLUE_HOST',
    'GREEN_URL is set, but BLUEGREEN_PROVIDER=azure-slots deploys to the slots of AZURE_WEBAPP (their host names are read from Azure): remove GREEN_URL',
  ]);
});
