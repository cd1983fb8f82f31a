import type { Command } from 'commander';
import { SERVE_NEEDS } from '../../core/config.js';
import { type RunningServer, ensureFirstUser, startServer } from '../../server/serve.js';
import { baseEnvironment, loadConfig } from '../load-config.js';
import type { Output } from '../output.js';

export function registerServe(program: Command, output: Output): void {
  program
    .command('serve')
    .description('run the git server and deploy engine (with no hosts configured: the embedded default)')
    .action(async () => {
      const config = loadConfig(SERVE_NEEDS);
      const firstUser = config.embedded ? await ensureFirstUser(config) : undefined;
      const server = await startServer(config, { baseEnv: baseEnvironment(), cwd: process.cwd(), log: (line) => output.err(line) });
      printWelcome(output, server, config.embedded, firstUser);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          output.err(`${signal}: shutting down`);
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}

function printWelcome(output: Output, server: RunningServer, embedded: boolean, firstUser: { name: string; token: string } | undefined): void {
  const base = new URL(server.gitUrl);
  const credentials = firstUser ? `${firstUser.name}:${firstUser.token}` : 'NAME:TOKEN';
  const remote = (colour: string) => `${base.protocol}//${credentials}@${base.host}/${colour}.git`;
  output.out(`bluegreen git server on ${server.gitUrl}${embedded ? ' (embedded default: two local hosts, local router)' : ''}`);
  if (firstUser) output.out(`created user ${firstUser.name}; token (shown only now): ${firstUser.token}`);
  else output.out('push as a user from `bluegreen user add NAME` (it prints the token)');
  output.out('add the remotes in your project:');
  output.out(`  git remote add blue ${remote('blue')}`);
  output.out(`  git remote add green ${remote('green')}`);
  for (const [colour, url] of Object.entries(server.hostUrls)) output.out(`${colour} host: ${url}`);
  if (server.routerUrl) output.out(`production (local router): ${server.routerUrl}`);
  output.out('then: git push blue main, check it, and release it with `bluegreen flip blue`');
}
