/**
 * Flip worlds for the cloud providers: the fake API, a TCP forwarder standing for production (re-pointed by
 * the fake when a move completes), and the hosts and server of `startFlipWorld` configured for that provider.
 */
import type { Test } from 'tap';
import { type FakeAzure, appGateway, networkInterface, startFakeAzure } from '../fakes/azure-api.js';
import { startFakeDigitalOcean } from '../fakes/digitalocean-api.js';
import { startTcpForwarder } from '../fakes/tcp-forwarder.js';
import { type FlipWorld, startFlipWorld } from './flip-env.js';

export const TOKEN = 'dop_v1_FLIPTEST0do0token0c0ffee0123456789abcdef';
export const IP = '203.0.113.10';
export const BLUE_ID = 101;
export const GREEN_ID = 202;

/** Blue is live (the reserved IP on blue's droplet), nothing deployed yet; `traffic.moves` false: a completed assign leaves production where it was. */
export async function digitalOceanWorld(t: Test) {
  const forwarder = await startTcpForwarder(undefined);
  const traffic = { moves: true };
  let portOf: Record<number, number> = {};
  const fakeOptions = {
    token: TOKEN,
    droplets: [
      { id: BLUE_ID, name: 'web-blue' },
      { id: GREEN_ID, name: 'web-green' },
    ],
    reservedIps: { [IP]: BLUE_ID },
    // Each assign completes at the first poll: the real provider polls every 2 s.
    ticks: 0,
    onAssign: (_ip: string, dropletId: number) => {
      if (traffic.moves) forwarder.setTarget(portOf[dropletId]);
    },
  };
  const api = await startFakeDigitalOcean(fakeOptions);
  t.teardown(async () => {
    await api.close();
    await forwarder.close();
  });
  const w: FlipWorld = await startFlipWorld(t, {
    BLUEGREEN_PROVIDER: 'digitalocean',
    DIGITALOCEAN_TOKEN: TOKEN,
    DIGITALOCEAN_API_URL: api.url,
    BLUEGREEN_RESERVED_IP: IP,
    BLUE_DROPLET: 'web-blue', // by name
    GREEN_DROPLET: String(GREEN_ID), // by id
    BLUEGREEN_PUBLIC_URL: forwarder.url,
  });
  portOf = { [BLUE_ID]: w.http.blue.port, [GREEN_ID]: w.http.green.port };
  forwarder.setTarget(w.http.blue.port);
  return { w, api, fakeOptions, forwarder, traffic, publicUrl: forwarder.url, assigned: () => api.reservedIps.get(IP) };
}


export const AZURE_SECRET = 'Zq8~FLIPTEST~azure~client~secret~0123456789';
const AZURE = { tenantId: 'tenant-flip', clientId: 'client-flip', subscriptionId: 'sub-flip', resourceGroup: 'rg-flip' };

/**
 * Blue is live: the gateway's rule sends to pool-blue (`azure-appgw`), or the public IP pip-prod is on nic-blue
 * (`azure-ip`); nothing deployed yet. Operations complete at the first read of the resource (`state` style,
 * no Retry-After) unless the test sets `fake.lroStyle` back to `async` (whose operations answer Retry-After: 0).
 */
export async function azureWorld(t: Test, kind: 'azure-appgw' | 'azure-ip') {
  const forwarder = await startTcpForwarder(undefined);
  const traffic = { moves: true };
  let portOf: Record<string, number> = {};
  const production = (fake: FakeAzure): number | undefined => {
    if (kind === 'azure-appgw') {
      const rule = fake.gateways.gw.properties.requestRoutingRules.find((r: any) => r.name === 'rule-main');
      return portOf[String(rule.properties.backendAddressPool.id).split('/').pop()!];
    }
    const holder = Object.values(fake.nics).find((nic: any) =>
      nic.properties.ipConfigurations.some((c: any) => String(c.properties.publicIPAddress?.id ?? '').endsWith('/publicIPAddresses/pip-prod')),
    ) as any;
    return holder ? portOf[holder.name] : undefined; // between detach and attach production is dark
  };
  const fake: FakeAzure = await startFakeAzure({
    ...AZURE,
    clientSecret: AZURE_SECRET,
    gateways: {
      gw: appGateway(AZURE.subscriptionId, AZURE.resourceGroup, 'gw', ['pool-blue', 'pool-green'], [{ name: 'rule-main', pool: 'pool-blue' }]),
    },
    nics: {
      'nic-blue': networkInterface(AZURE.subscriptionId, AZURE.resourceGroup, 'nic-blue', 'pip-prod'),
      'nic-green': networkInterface(AZURE.subscriptionId, AZURE.resourceGroup, 'nic-green'),
    },
    polls: 0,
    // The real program waits as Retry-After says (honoured, on a virtual clock, in arm.test.ts): no wait here.
    operationRetryAfterS: 0,
    onChange: () => {
      if (traffic.moves) forwarder.setTarget(production(fake));
    },
  });
  fake.lroStyle = 'state';
  t.teardown(async () => {
    await fake.close();
    await forwarder.close();
  });
  const w: FlipWorld = await startFlipWorld(t, {
    BLUEGREEN_PROVIDER: kind,
    AZURE_TENANT_ID: AZURE.tenantId,
    AZURE_CLIENT_ID: AZURE.clientId,
    AZURE_CLIENT_SECRET: AZURE_SECRET,
    AZURE_SUBSCRIPTION_ID: AZURE.subscriptionId,
    AZURE_RESOURCE_GROUP: AZURE.resourceGroup,
    AZURE_ARM_URL: fake.url,
    AZURE_AUTHORITY_URL: fake.url,
    ...(kind === 'azure-appgw'
      ? { AZURE_APP_GATEWAY: 'gw', AZURE_ROUTING_RULE: 'rule-main', BLUE_POOL: 'pool-blue', GREEN_POOL: 'pool-green' }
      : { AZURE_PUBLIC_IP: 'pip-prod', BLUE_NIC: 'nic-blue', GREEN_NIC: 'nic-green' }),
    BLUEGREEN_PUBLIC_URL: forwarder.url,
  });
  portOf =
    kind === 'azure-appgw'
      ? { 'pool-blue': w.http.blue.port, 'pool-green': w.http.green.port }
      : { 'nic-blue': w.http.blue.port, 'nic-green': w.http.green.port };
  forwarder.setTarget(w.http.blue.port);
  return { w, fake, forwarder, traffic, publicUrl: forwarder.url, production: () => production(fake) };
}
