import { Command, CommanderError } from 'commander';
import { UserError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';
import { loadEnvFile } from './load-config.js';
import { type Output, processOutput } from './output.js';

/**
 * The one error boundary: runs the command line and turns every failure into a message and an exit code
 * (0 success, 1 failed or refused, 2 bad usage or configuration). Stack traces only with --verbose.
 */
export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  const verbose = argv.includes('--verbose');
  loadEnvFile();
  const program = new Command('bluegreen')
    .description('Blue-green deployment server: git push to deploy a colour, flip to release it')
    .option('--verbose', 'show stack traces of unexpected errors')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text.trimEnd()),
      writeErr: (text) => output.err(text.trimEnd()),
    });
  await registerCommands(program, output, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      output.err(`error: ${error.message}`);
      if (error.hint) output.err(`hint: ${error.hint}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    output.err(`error: unexpected failure: ${message}`);
    if (verbose && error instanceof Error && error.stack) output.err(error.stack);
    else output.err('hint: run again with --verbose for details');
    return 1;
  }
}
