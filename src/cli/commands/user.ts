import type { Command } from 'commander';
import { addUser, listUsers, removeUser } from '../../adapters/state/users.js';
import { loadConfig } from '../load-config.js';
import { type Output, printJson } from '../output.js';

export function registerUser(program: Command, output: Output): void {
  const user = program.command('user').description('push credentials for the git server');
  user
    .command('add')
    .description('add a user and print their token (shown only this once)')
    .argument('<name>', 'lower-case letters, digits, _ and -')
    .action(async (name: string) => {
      const config = loadConfig();
      const token = await addUser(config.dataDir, name);
      output.out(`added ${name}; their token (shown only now, store it in a password manager):`);
      output.out(token);
      output.out(`git remote: http${config.tls ? 's' : ''}://${name}:${token}@${config.listen.host}:${config.listen.port}/blue.git`);
    });
  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const users = listUsers(loadConfig().dataDir);
      if (options.json) return printJson(output, users);
      if (users.length === 0) return output.out('no users yet: bluegreen user add NAME');
      for (const u of users) output.out(`${u.name}\tadded ${u.created}`);
    });
  user
    .command('remove')
    .description('remove a user; their token stops working at once, also on a running server')
    .argument('<name>')
    .action(async (name: string) => {
      await removeUser(loadConfig().dataDir, name);
      output.out(`removed ${name}`);
    });
}
