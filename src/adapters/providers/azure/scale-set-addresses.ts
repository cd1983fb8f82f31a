/** The private addresses of a scale set's instances: a colour found by scale set (`BLUE_VMSS`). */
import type { ArmClient } from './arm.js';

/** The API version the scale set's network interfaces are listed with (Microsoft.Network's, under Microsoft.Compute). */
const API_VERSION = '2018-10-01';

interface ApiNic {
  properties?: { primary?: boolean; ipConfigurations?: Array<{ properties?: { primary?: boolean; privateIPAddress?: string } }> };
}

/**
 * One private IPv4 address per instance of `vmss` (`GET …/virtualMachineScaleSets/{vmss}/networkInterfaces`, every
 * page): each network interface's primary ip configuration (the first when none is marked), in the API's order.
 * Uniform scale sets only: a Flexible one's instances have ordinary network interfaces.
 */
export async function scaleSetAddresses(arm: ArmClient, vmss: string, deadline: number): Promise<string[]> {
  const nics = await arm.list<ApiNic>(`${arm.computePath('virtualMachineScaleSets', vmss)}/networkInterfaces`, API_VERSION, `scale set ${vmss}`, deadline);
  const addresses: string[] = [];
  for (const nic of nics) {
    // An instance with several NICs is reached through its primary one.
    if (nic.properties?.primary === false) continue;
    const configs = nic.properties?.ipConfigurations ?? [];
    const address = (configs.find((c) => c.properties?.primary) ?? configs[0])?.properties?.privateIPAddress;
    if (address) addresses.push(address);
  }
  return addresses;
}
