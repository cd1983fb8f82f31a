import type { Command } from 'commander';
import type { Output } from '../output.js';

type Register = (program: Command, output: Output) => void;

// By command name, the module that registers it. Each command's module is loaded only when it runs (a CLI start pays for one command's dependencies, not all).
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServe,
  user: async () => (await import('./user.js')).registerUser,
  init: async () => (await import('./init.js')).registerInit,
  releases: async () => (await import('./releases.js')).registerReleases,
  activate: async () => (await import('./releases.js')).registerReleases,
  history: async () => (await import('./history.js')).registerHistory,
  deploy: async () => (await import('./deploy.js')).registerDeploy,
  flip: async () => (await import('./flip.js')).registerFlip,
  rollback: async () => (await import('./flip.js')).registerFlip,
  status: async () => (await import('./status.js')).registerStatus,
  provision: async () => (await import('./provision.js')).registerProvision,
  sync: async () => (await import('./sync.js')).registerSync,
};

/** Registers the command `argv` names, or all of them (for help, and for commander's answer to an unknown name). */
export async function registerCommands(program: Command, output: Output, argv: readonly string[]): Promise<void> {
  const named = argv.find((arg) => !arg.startsWith('-'));
  const loaders = named !== undefined && COMMANDS[named] ? [COMMANDS[named]] : Object.values(COMMANDS);
  // One module can register several commands (flip and rollback; releases and activate): register it once.
  const registers = new Set(await Promise.all(loaders.map((load) => load())));
  for (const register of registers) register(program, output);
}
