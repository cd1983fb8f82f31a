import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createProvider } from '../../adapters/providers/index.js';
import { readHistory } from '../../adapters/state/history.js';
import type { Colour } from '../../core/colour.js';
import type { Config } from '../../core/config.js';
import { rollbackTarget } from '../../core/flip-plan.js';
import { runFlip } from '../../flip/run-flip.js';
import { parseColour } from '../arguments.js';
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

async function flipTo(config: Config, target: Colour, options: FlipCliOptions, output: Output): Promise<void> {
  const provider = createProvider(config);
  try {
    await runFlip({
      config,
      provider,
      target,
      by: operatorName(),
      say: (line) => output.err(line),
      dryRun: options.dryRun,
      force: options.force,
      // Ask only a person at a terminal; scripts and CI get no prompt.
      confirm: options.yes || !process.stdin.isTTY ? undefined : (lines) => askToProceed(lines, output),
    });
  } finally {
    await provider.close();
  }
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
      await flipTo(loadConfig(), target, options, output);
    });

  program
    .command('rollback')
    .description('flip back to the colour that was live before the last flip (verified like any flip)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'roll back even when the schema guard refuses (recorded in history)')
    .action(async (options: FlipCliOptions) => {
      const config = loadConfig();
      const lastFlip = (await readHistory(config.dataDir)).find((r) => r.type === 'flip' && r.outcome === 'flipped');
      const target = rollbackTarget(lastFlip?.type === 'flip' ? lastFlip : undefined);
      output.err(`rolling back to ${target}`);
      await flipTo(config, target, options, output);
    });
}
