/**
 * Configurations whose colours' hosts are found, not listed (no BLUE_HOST/GREEN_HOST): droplets by tag behind a
 * DigitalOcean load balancer, and scale-set instances behind an Azure Application Gateway. Credentials are dummies.
 */
export const DIGITALOCEAN_LB_ENV: Readonly<Record<string, string>> = {
  BLUEGREEN_PROVIDER: 'digitalocean-lb',
  DIGITALOCEAN_TOKEN: 'dop_v1_lbsecret',
  DIGITALOCEAN_LOAD_BALANCER: 'web-lb',
  BLUE_TAG: 'web-blue',
  GREEN_TAG: 'web-green',
};

export const AZURE_APPGW_ENV: Readonly<Record<string, string>> = {
  BLUEGREEN_PROVIDER: 'azure-appgw',
  AZURE_TENANT_ID: 't',
  AZURE_CLIENT_ID: 'c',
  AZURE_CLIENT_SECRET: 's',
  AZURE_SUBSCRIPTION_ID: 'sub',
  AZURE_RESOURCE_GROUP: 'rg',
  AZURE_APP_GATEWAY: 'gw',
  AZURE_ROUTING_RULE: 'rule',
  BLUE_POOL: 'b',
  GREEN_POOL: 'g',
  BLUE_VMSS: 'web-blue',
  GREEN_VMSS: 'web-green',
};
