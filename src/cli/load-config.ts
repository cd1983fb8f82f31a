import path from 'node:path';
import dotenv from 'dotenv';
import { checkConfigFiles } from '../adapters/config/config-files.js';
import { routeOutgoing } from '../adapters/http/outgoing.js';
import { type Config, type ConfigNeed, parseConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';

let environmentBeforeEnvFile: NodeJS.ProcessEnv = { ...process.env };
/** Why `.env` exists but could not be read (a directory, no permission), reported by `loadConfig`. */
let envFileProblem: string | undefined;

/** Loads `.env` from the working directory (quietly: inside a hook its banner would reach the pusher). */
export function loadEnvFile(cwd = process.cwd()): void {
  environmentBeforeEnvFile = { ...process.env };
  const file = path.join(cwd, '.env');
  const { error } = dotenv.config({ path: file, quiet: true });
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  envFileProblem = error && code !== 'ENOENT' ? `${file} cannot be read (${code ?? error.message})` : undefined;
}

/** The environment as it was before `.env` was loaded: it keeps winning when `.env` is re-read. */
export function baseEnvironment(): NodeJS.ProcessEnv {
  return environmentBeforeEnvFile;
}

/**
 * The validated configuration, or a ConfigError listing every problem (exit 2): every variable, then the
 * files the command is about to rely on (`needs`; the data dir always). Applies BLUEGREEN_CONNECT_TO.
 */
export function loadConfig(needs: readonly ConfigNeed[] = [], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  if (envFileProblem) throw new ConfigError([envFileProblem]);
  const result = parseConfig(env, cwd);
  if (!result.config) throw new ConfigError(result.errors);
  const problems = checkConfigFiles(result.config, needs);
  if (problems.length > 0) throw new ConfigError(problems);
  // Every command's outgoing requests (checks, clouds, Kudu) follow BLUEGREEN_CONNECT_TO from here on.
  routeOutgoing(result.config.connectTo);
  return result.config;
}
