import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import type { Colour } from '../../core/colour.js';
import type { Config } from '../../core/config.js';
import { readRollbackTarget } from '../../flip/rollback-target.js';
import { runFlip } from '../../flip/run-flip.js';
import { parseColour } from '../arguments.js';
import { withNotices } from '../cli-notices.js';
import { loadConfig } from '../load-config.js';
import type { Output } from '../output.js';

interface FlipCliOptions {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
}

/** Who is flipping, for history and lock messages. */
export function operatorName(): string {
  return process.env.SUDO_USER || os.userInfo().username;
}

async function flipTo(config: Config, target: Colour, options: FlipCliOptions, output: Output, event: 'flip' | 'rollback'): Promise<void> {
  const provider = createProvider(config);
  try {
    await withNotices(config, output, (notify) =>
      runFlip({
        config,
        provider,
        target,
        by: operatorName(),
        say: (line) => output.err(line),
        dryRun: options.dryRun,
        force: options.force,
        // Ask only a person at a terminal; scripts and CI get no prompt.
        confirm: confirmOnTerminal(options, output),
        event,
        notify,
      }),
    );
  } finally {
    await provider.close();
  }
}

/** Asks a person at a terminal before anything changes (unless --yes); scripts and CI get no prompt. */
export function confirmOnTerminal(options: { yes?: boolean }, output: Output): ((lines: string[]) => Promise<boolean>) | undefined {
  return options.yes || !process.stdin.isTTY ? undefined : (lines) => askToProceed(lines, output);
}

async function askToProceed(lines: string[], output: Output): Promise<boolean> {
  for (const line of lines) output.err(line);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('proceed? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

export function registerFlip(program: Command, output: Output): void {
  program
    .command('flip')
    .description('verify a colour, move production traffic to it, verify through the public address; flips back on failure')
    .argument('<colour>', 'blue or green')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'flip even when the schema guard refuses (recorded in history)')
    .action(async (colourArg: string, options: FlipCliOptions) => {
      const target = parseColour(colourArg);
      await flipTo(loadConfig(), target, options, output, 'flip');
    });

  program
    .command('rollback')
    .description('flip back to the colour that was live before the last flip (verified like any flip)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'roll back even when the schema guard refuses (recorded in history)')
    .action(async (options: FlipCliOptions) => {
      const config = loadConfig();
      const target = await readRollbackTarget(config.dataDir);
      output.err(`rolling back to ${target}`);
      await flipTo(config, target, options, output, 'rollback');
    });
}
