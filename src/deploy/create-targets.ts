import { createTransport } from '../adapters/transport/create-transport.js';
import type { Colour } from '../core/colour.js';
import type { Config, HostTarget } from '../core/config.js';
import { resolveHosts } from './resolve-hosts.js';
import { AppServiceSlotTarget } from './targets/app-service-slot.js';
import { PosixReleasesTarget } from './targets/posix-releases.js';
import type { DeployTarget } from './targets/target.js';

/** A host's deploy target, with its own connection (opened on first use). */
export function createTarget(config: Config, host: HostTarget, colour: Colour): DeployTarget {
  if (host.kind === 'app-service-slot') return new AppServiceSlotTarget(config, host);
  return new PosixReleasesTarget(createTransport(host, config), host.appRoot, colour);
}

/** A colour's deploy targets, one per host as the colour's hosts are now. */
export async function createTargets(config: Config, colour: Colour): Promise<DeployTarget[]> {
  return (await resolveHosts(config, colour)).map((host) => createTarget(config, host, colour));
}
