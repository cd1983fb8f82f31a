import type { Command } from 'commander';
import { readPublicKeyFile } from '../../adapters/ssh/public-key.js';
import { addUser, addUserKey, listUsers, removeUser, removeUserKey, setUserRole } from '../../adapters/state/users.js';
import type { Config } from '../../core/config.js';
import { formatHost } from '../../core/config/hosts.js';
import { ROLES } from '../../core/roles.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';

/** `ssh://git@HOST:PORT/COLOUR.git`, when git over SSH is on. */
export function sshRemote(config: Config, colour: string): string | undefined {
  const listen = config.sshListen;
  return listen ? `ssh://git@${formatHost(listen.host)}:${listen.port}/${colour}.git` : undefined;
}

export function registerUser(program: Command, output: Output): void {
  const user = program.command('user').description('push credentials for the git server: tokens (HTTP) and SSH keys, and roles');
  user
    .command('add')
    .description('add a user and print their token (shown only this once)')
    .argument('<name>', 'lower-case letters, digits, _ and -')
    .option('--role <role>', `${ROLES.join(', ')}: viewer fetches, deployer also pushes, operator also flips`, 'deployer')
    .option('--ssh-key <file>', 'their SSH public key (.pub), for git over SSH')
    .action(async (name: string, options: { role: string; sshKey?: string }) => {
      const config = loadConfig();
      const key = options.sshKey === undefined ? undefined : readPublicKeyFile(options.sshKey);
      const token = await addUser(config.dataDir, name, { role: options.role, key });
      output.out(`added ${name} (${options.role}); their token (shown only now, store it in a password manager):`);
      output.out(token);
      output.out(`git remote: http${config.tls ? 's' : ''}://${name}:${token}@${config.listen.host}:${config.listen.port}/blue.git`);
      const ssh = sshRemote(config, 'blue');
      if (key && ssh) output.out(`or over SSH with the key ${key.fingerprint}: ${ssh}`);
    });
  user
    .command('list')
    .description('list users, their roles and SSH key fingerprints')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const users = listUsers(loadConfig().dataDir);
      if (options.json) return printJson(output, users);
      if (users.length === 0) return output.out('no users yet: bluegreen user add NAME');
      for (const u of users) output.out(`${u.name}\t${u.role}\tadded ${u.created}\tSSH keys: ${u.keys.join(' ') || 'none'}`);
    });
  user
    .command('remove')
    .description('remove a user; their token and keys stop working at once, also on a running server')
    .argument('<name>')
    .action(async (name: string) => {
      await removeUser(loadConfig().dataDir, name);
      output.out(`removed ${name}`);
    });
  user
    .command('role')
    .description(`change a user's role (${ROLES.join(', ')}); applies at once, also on a running server`)
    .argument('<name>')
    .argument('<role>')
    .action(async (name: string, role: string) => {
      await setUserRole(loadConfig().dataDir, name, role);
      output.out(`${name}'s role is now ${role}`);
    });
  const key = user.command('key').description("a user's SSH public keys, for git over SSH");
  key
    .command('add')
    .description('give a user an SSH public key (a key belongs to one user only)')
    .argument('<name>')
    .argument('<file>', 'the public key, e.g. id_ed25519.pub')
    .action(async (name: string, file: string) => {
      const config = loadConfig();
      const publicKey = readPublicKeyFile(file);
      await addUserKey(config.dataDir, name, publicKey);
      output.out(`added the SSH key ${publicKey.fingerprint} to ${name}`);
      const ssh = sshRemote(config, 'blue');
      if (ssh) output.out(`git remote: ${ssh}`);
    });
  key
    .command('remove')
    .description('take an SSH key from a user; it stops working at once, also on a running server')
    .argument('<name>')
    .argument('<fingerprint>', 'SHA256:… as `bluegreen user list` shows it')
    .action(async (name: string, fingerprint: string) => {
      await removeUserKey(loadConfig().dataDir, name, fingerprint);
      output.out(`removed the SSH key ${fingerprint} from ${name}`);
    });
}
