import type { Command } from 'commander';
import { dropSecretsFromProcessEnv } from '../../adapters/process/child-env.js';
import { SERVE_NEEDS } from '../../core/config.js';
import { type RunningServer, ensureFirstUser, startServer } from '../../server/serve.js';
import { baseEnvironment, loadConfig } from '../load-config.js';
import type { Output } from '../output.js';

/** How long pushes and deploys under way get to finish after SIGTERM or SIGINT (documented in the README, under Commands). */
export const SHUTDOWN_GRACE_MS = 10_000;
/** After the grace period, how long ending the rest may take before the process exits regardless. */
const SHUTDOWN_BACKSTOP_MS = 10_000;

export function registerServe(program: Command, output: Output): void {
  program
    .command('serve')
    .description('run the git server and deploy engine (with no hosts configured: the embedded default)')
    .action(async () => {
      const config = loadConfig(SERVE_NEEDS);
      // The configuration holds them now (and the base environment for reloads is a copy).
      dropSecretsFromProcessEnv();
      const server = await startServer(config, { baseEnv: baseEnvironment(), cwd: process.cwd(), log: (line) => output.err(line) });
      // Only once the server runs: a failed start must not leave a user whose token nobody saw.
      const firstUser = config.embedded ? await ensureFirstUser(config).catch(async (error: unknown) => {
        await server.close();
        throw error;
      }) : undefined;
      printWelcome(output, server, config.embedded, firstUser);
      await untilStopped(output, server);
    });
}

/**
 * Resolves once a SIGTERM or SIGINT has shut the server down: no new connections, up to SHUTDOWN_GRACE_MS for
 * the pushes under way, then the rest ended. A second signal ends them at once.
 */
function untilStopped(output: Output, server: RunningServer): Promise<void> {
  return new Promise<void>((resolve) => {
    const hurry = new AbortController();
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (hurry.signal.aborted) return;
      if (stopping) {
        output.err(`${signal} again: ending the pushes under way now`);
        hurry.abort();
        return;
      }
      stopping = true;
      output.err(`${signal}: shutting down (pushes under way get up to ${SHUTDOWN_GRACE_MS / 1000} s to finish; signal again to end them now)`);
      // Whatever happens while closing, the process ends.
      setTimeout(() => {
        output.err('error: the server did not shut down in time; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS + SHUTDOWN_BACKSTOP_MS).unref();
      server
        .close({ graceMs: SHUTDOWN_GRACE_MS, hurry: hurry.signal })
        .catch((error: unknown) => output.err(`error while shutting down: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function printWelcome(output: Output, server: RunningServer, embedded: boolean, firstUser: { name: string; token: string } | undefined): void {
  const base = new URL(server.gitUrl);
  const credentials = firstUser ? `${firstUser.name}:${firstUser.token}` : 'NAME:TOKEN';
  const remote = (colour: string) => `${base.protocol}//${credentials}@${base.host}/${colour}.git`;
  output.out(`bluegreen git server on ${server.gitUrl}${embedded ? ' (embedded default: two local hosts, local router)' : ''}`);
  if (server.ssh) output.out(`git over SSH on ${server.ssh.url} (host key ${server.ssh.fingerprint})`);
  output.out(`status page: ${server.pageUrl} (sign in with a user name and token)`);
  if (firstUser) output.out(`created user ${firstUser.name}; token (shown only now): ${firstUser.token}`);
  else output.out('push as a user from `bluegreen user add NAME` (it prints the token)');
  output.out('add the remotes in your project:');
  output.out(`  git remote add blue ${remote('blue')}`);
  output.out(`  git remote add green ${remote('green')}`);
  if (server.ssh) {
    output.out(`or over SSH, with a key from \`bluegreen user key add NAME FILE.pub\`:`);
    output.out(`  git remote add blue ${server.ssh.url}/blue.git`);
    output.out(`  git remote add green ${server.ssh.url}/green.git`);
  }
  for (const [colour, url] of Object.entries(server.hostUrls)) output.out(`${colour} host: ${url}`);
  if (server.routerUrl) output.out(`production (local router): ${server.routerUrl}`);
  output.out('then: git push blue main, check it, and release it with `bluegreen flip blue`');
}
