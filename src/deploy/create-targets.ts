import { createTransport } from '../adapters/transport/create-transport.js';
import type { Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { PosixReleasesTarget } from './targets/posix-releases.js';
import type { DeployTarget } from './targets/target.js';

/** A colour's deploy targets, one per host, each with its own connection (opened on first use). */
export function createTargets(config: Config, colour: Colour): DeployTarget[] {
  return config.hosts[colour].map((host) => new PosixReleasesTarget(createTransport(host, config), host.appRoot, colour));
}
