/** The traffic section: BLUEGREEN_PROVIDER and each provider's own variables. */
import { z } from 'zod';
import type { Reader } from './reader.js';
import type { AzureCredentials, ProviderConfig } from './types.js';
import { headerTokenSchema, httpUrlSchema, listenSchema, nameSchema, secretTextSchema } from './values.js';

export const PROVIDER_KINDS = ['local', 'digitalocean', 'azure-appgw', 'azure-ip'] as const;

const apiBase = httpUrlSchema({ realPort: true, apiBase: true });

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
  const kind = reader.read('BLUEGREEN_PROVIDER', z.enum(PROVIDER_KINDS, { message: 'expected one of digitalocean, azure-appgw, azure-ip, local' }), 'local');
  const routerListen = reader.read('BLUEGREEN_ROUTER_LISTEN', listenSchema, { host: '127.0.0.1', port: 8080 });
  const name = (variable: string, why: string) => reader.required(variable, why, nameSchema, '');
  switch (kind) {
    case 'local':
      return { kind: 'local', listen: routerListen };
    case 'digitalocean': {
      const why = 'the digitalocean provider moves the reserved IP between the two droplets';
      return {
        kind: 'digitalocean',
        token: reader.required('DIGITALOCEAN_TOKEN', 'the digitalocean provider calls the API with it', headerTokenSchema, ''),
        apiUrl: reader.read('DIGITALOCEAN_API_URL', apiBase, 'https://api.digitalocean.com').replace(/\/+$/, ''),
        reservedIp: reader.required('BLUEGREEN_RESERVED_IP', why, z.ipv4({ message: 'expected an IPv4 address' }), ''),
        droplets: { blue: name('BLUE_DROPLET', why), green: name('GREEN_DROPLET', why) },
      };
    }
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
  }
}
