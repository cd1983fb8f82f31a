import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { watch } from 'chokidar';
import dotenv from 'dotenv';
import { type Config, parseConfig } from '../core/config.js';

export interface ConfigWatcher {
  close(): Promise<void>;
}

/**
 * Watches `.env` in `cwd` and hands every valid new configuration to `onChange`; an invalid edit is
 * reported and the last good configuration stays. Variables set in the real environment win over `.env`,
 * as they do at start.
 */
export function watchConfig(options: {
  baseEnv: NodeJS.ProcessEnv;
  cwd: string;
  onChange: (config: Config) => void | Promise<void>;
  onError: (message: string) => void;
}): ConfigWatcher {
  const file = path.join(options.cwd, '.env');
  const watcher = watch(file, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
  const reload = async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    const result = parseConfig({ ...dotenv.parse(text), ...options.baseEnv }, options.cwd);
    if (result.config) await options.onChange(result.config);
    else options.onError(result.errors.map((e) => `  - ${e}`).join('\n'));
  };
  const onEvent = () => {
    reload().catch((error: unknown) => options.onError(String(error)));
  };
  watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
  return { close: () => watcher.close() };
}
