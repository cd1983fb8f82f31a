import path from 'node:path';
import dotenv from 'dotenv';
import { type Config, parseConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';

let environmentBeforeEnvFile: NodeJS.ProcessEnv = { ...process.env };

/** Loads `.env` from the working directory (quietly: inside a hook its banner would reach the pusher). */
export function loadEnvFile(cwd = process.cwd()): void {
  environmentBeforeEnvFile = { ...process.env };
  dotenv.config({ path: path.join(cwd, '.env'), quiet: true });
}

/** The environment as it was before `.env` was loaded: it keeps winning when `.env` is re-read. */
export function baseEnvironment(): NodeJS.ProcessEnv {
  return environmentBeforeEnvFile;
}

/** The validated configuration, or a ConfigError listing every problem (exit 2). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const result = parseConfig(env, cwd);
  if (result.errors.length > 0) throw new ConfigError(result.errors);
  return result.config as Config;
}
