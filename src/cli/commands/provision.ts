import type { Command } from 'commander';
import { COLOURS, type Colour } from '../../core/colour.js';
import { cloudInit, provision } from '../../provision/run-provision.js';
import { parseColour } from '../arguments.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';

interface ProvisionCliOptions {
  dryRun?: boolean;
  hostKey?: string;
  acceptNewHostKey?: boolean;
  cloudInit?: boolean;
  json?: boolean;
}

export function registerProvision(program: Command, output: Output): void {
  program
    .command('provision')
    .description('prepare hosts over SSH: web server, deploy user and key, app root, site (idempotent)')
    .argument('<target>', 'blue, green or all')
    .option('--dry-run', 'connect, inspect and print what would change; change nothing')
    .option('--host-key <fingerprint>', 'trust a host met for the first time if its key has this SHA256: fingerprint')
    .option('--accept-new-host-key', 'trust a host met for the first time whatever its key (a changed key is still refused)')
    .option('--cloud-init', 'print the same preparation as cloud-init user-data instead of connecting')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, options: ProvisionCliOptions) => {
      const colours: Colour[] = target === 'all' ? [...COLOURS] : [parseColour(target)];
      const config = loadConfig(options.cloudInit ? [] : ['admin-key']);
      if (options.cloudInit) return output.out(cloudInit({ config, colours }));
      const result = await provision({
        config,
        colours,
        dryRun: Boolean(options.dryRun),
        hostKey: options.hostKey,
        acceptNewHostKey: Boolean(options.acceptNewHostKey),
        say: (line) => (options.json ? output.err(line) : output.out(line)),
      });
      if (options.json) printJson(output, result);
    });
}
