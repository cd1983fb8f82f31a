/**
 * The `azure-ip` provider: production is a public IP attached to the blue or the green network interface.
 * Moving it: PUT the holder's NIC without `publicIPAddress` on its ip configuration and wait, then PUT the
 * target's NIC with it and wait (attaching first fails 400 PublicIPAddressInUse). Between the two the IP is
 * dark. If attaching fails, the IP is put back where it was and the error says which state production is in.
 */
import { COLOURS, type Colour } from '../../../core/colour.js';
import type { ProviderConfig } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import type { Provider, ProviderOptions } from '../provider.js';
import { createArmClient } from './arm.js';

type PublicIpConfig = Extract<ProviderConfig, { kind: 'azure-ip' }>;

export const NIC_API_VERSION = '2024-05-01';

interface IpConfiguration {
  name: string;
  properties: { primary?: boolean; publicIPAddress?: { id: string } | null; [key: string]: unknown };
}
interface Nic {
  name: string;
  properties: { ipConfigurations?: IpConfiguration[]; [key: string]: unknown };
}

export function createAzurePublicIpProvider(config: PublicIpConfig, options: ProviderOptions = {}): Provider {
  const arm = createArmClient(config.azure, options);
  const publicIpId = arm.networkPath('publicIPAddresses', config.publicIp);
  const description = `azure public IP ${config.publicIp}`;
  const nicPath = (colour: Colour) => arm.networkPath('networkInterfaces', config.nics[colour]);
  const nicWhat = (colour: Colour) => `network interface ${config.nics[colour]} (${colour.toUpperCase()}_NIC)`;
  const isOurs = (ip: IpConfiguration) => {
    const id = ip.properties.publicIPAddress?.id?.toLowerCase();
    return id !== undefined && (id === publicIpId.toLowerCase() || id.endsWith(`/publicipaddresses/${config.publicIp.toLowerCase()}`));
  };
  const holds = (nic: Nic) => (nic.properties.ipConfigurations ?? []).some(isOurs);

  async function readNics(deadline: number): Promise<Record<Colour, Nic>> {
    const [blue, green] = await Promise.all(COLOURS.map((c) => arm.get<Nic>(nicPath(c), NIC_API_VERSION, nicWhat(c), deadline)));
    return { blue: blue!, green: green! };
  }
  const holder = (nics: Record<Colour, Nic>) => COLOURS.find((c) => holds(nics[c]));

  /** The ip configuration the public IP goes on: the primary one (or the first). */
  function primaryConfig(nic: Nic, colour: Colour): IpConfiguration {
    const configs = nic.properties.ipConfigurations ?? [];
    const found = configs.find((c) => c.properties.primary) ?? configs[0];
    if (!found) throw new UserError(`${nicWhat(colour)} has no ip configuration to attach ${config.publicIp} to`, { exitCode: 2 });
    return found;
  }

  /** PUTs `colour`'s NIC with the public IP attached to its primary ip configuration. */
  async function attach(colour: Colour, deadline: number): Promise<void> {
    const nic = await arm.get<Nic>(nicPath(colour), NIC_API_VERSION, nicWhat(colour), deadline);
    primaryConfig(nic, colour).properties.publicIPAddress = { id: publicIpId };
    await arm.put(nicPath(colour), NIC_API_VERSION, nic, nicWhat(colour), deadline);
  }

  return {
    description,

    async liveColour() {
      return holder(await readNics(arm.deadline()));
    },

    async moveTraffic(colour, say) {
      const deadline = arm.deadline();
      const nics = await readNics(deadline);
      const from = holder(nics);
      if (from === colour) {
        say(`${description} is already attached to ${colour} (${config.nics[colour]})`);
        return;
      }
      primaryConfig(nics[colour], colour); // refuse before detaching anything
      if (from) {
        const nic = nics[from];
        for (const ip of nic.properties.ipConfigurations ?? []) if (isOurs(ip)) delete ip.properties.publicIPAddress;
        say(`detaching ${description} from ${from} (${config.nics[from]}); production is dark until it is attached to ${colour}`);
        try {
          await arm.put(nicPath(from), NIC_API_VERSION, nic, nicWhat(from), deadline);
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          const now = await where();
          throw new UserError(`could not detach ${description} from ${from}: ${error.message}; ${now}`, { hint: error.hint, cause: error });
        }
      } else {
        say(`${description} is attached to neither blue nor green; attaching it to ${colour}`);
      }
      say(`attaching ${description} to ${colour} (${config.nics[colour]})`);
      try {
        await attach(colour, deadline);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        if (!from) throw new UserError(`could not attach ${description} to ${colour}: ${error.message}; ${await where()}`, { hint: error.hint, cause: error });
        say(`attaching to ${colour} failed; re-attaching ${description} to ${from}`);
        try {
          await attach(from, arm.deadline());
        } catch (undoError) {
          throw new UserError(
            `could not attach ${description} to ${colour} (${error.message}), and re-attaching it to ${from} failed too (${(undoError as Error).message}): ${await where()}`,
            {
              hint: `attach it by hand now (portal: ${config.nics[from]} → IP configurations → associate ${config.publicIp}), then run \`bluegreen status\``,
              cause: error,
            },
          );
        }
        throw new UserError(`could not attach ${description} to ${colour} (${error.message}); re-attached it to ${from}: production is on ${from} again`, {
          hint: `fix what Azure reported, then run \`bluegreen flip ${colour}\` again`,
          cause: error,
        });
      }
      say(`${description} is now attached to ${colour} (${config.nics[colour]})`);
    },

    async close() {},
  };

  /** Best effort, for failure messages: which NIC holds the IP now. */
  async function where(): Promise<string> {
    try {
      const now = holder(await readNics(arm.deadline()));
      return now
        ? `production is on ${now} (${config.nics[now]})`
        : `the public IP is attached to neither ${config.nics.blue} nor ${config.nics.green}: production is DARK unless it is attached elsewhere`;
    } catch (error) {
      return `where the public IP is now could not be read (${(error as Error).message})`;
    }
  }
}
