import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ensureDeployKey } from '../../adapters/state/deploy-key.js';
import { UserError } from '../../core/errors.js';
import { packageRoot } from '../../package-root.js';
import { loadConfig, loadEnvFile } from '../load-config.js';
import type { Output } from '../output.js';

export function registerInit(program: Command, output: Output): void {
  program
    .command('init')
    .description('write a commented .env and a deploy SSH key pair')
    .option('--force', 'overwrite an existing .env')
    .action(async (options: { force?: boolean }) => {
      const envFile = path.join(process.cwd(), '.env');
      if (existsSync(envFile) && !options.force) {
        throw new UserError(`${envFile} exists already; nothing was changed`, { hint: 'edit it, or run `bluegreen init --force` to start over' });
      }
      // 0600: cloud credentials go in it. `wx` keeps a .env made meanwhile; --force also tightens an old one's mode.
      const template = await readFile(path.join(packageRoot(), 'templates', 'dotenv'));
      await writeFile(envFile, template, { mode: 0o600, flag: options.force ? 'w' : 'wx' });
      await chmod(envFile, 0o600);
      output.out(`wrote ${envFile} (private, 0600: secrets go in it)`);
      loadEnvFile();
      const config = loadConfig();
      const key = await ensureDeployKey(config.sshKeyPath);
      output.out(key.created ? `created the deploy key ${config.sshKeyPath} (private, 0600)` : `kept the deploy key ${config.sshKeyPath}`);
      if (key.publicKey) output.out(`its public key, for the hosts' authorized_keys (\`bluegreen provision\` installs it):\n${key.publicKey}`);
    });
}
