import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { watch } from 'chokidar';
import dotenv from 'dotenv';
import { checkConfigFiles } from '../adapters/config/config-files.js';
import { type Config, type ConfigNeed, parseConfig } from '../core/config.js';

export interface ConfigWatcher {
  close(): Promise<void>;
}

/**
 * Watches `.env` in `cwd` and hands every valid new configuration to `onChange`; an invalid edit (a bad
 * variable, or a file it names that `needs` cannot use) is reported and `onChange` is not called.
 * Variables set in the real environment win over `.env`, as they do at start. A missing `.env` counts as
 * empty.
 *
 * The directory is watched, not the file: a file watch follows the inode, and is lost when an editor or
 * `mv` replaces the file, or it is deleted and made again. Reloads run one at a time, and an event during
 * one makes one more, so the last state of the file is always the one read last.
 */
export function watchConfig(options: {
  baseEnv: NodeJS.ProcessEnv;
  cwd: string;
  needs: readonly ConfigNeed[];
  onChange: (config: Config) => void | Promise<void>;
  onError: (message: string) => void;
}): ConfigWatcher {
  const dir = path.resolve(options.cwd);
  const file = path.join(dir, '.env');
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    ignored: (entry: string) => entry !== dir && entry !== file,
    awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 },
  });
  const reload = async () => {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw new Error(`${file} cannot be read (${error.code ?? error.message})`);
    });
    const result = parseConfig({ ...dotenv.parse(text), ...options.baseEnv }, options.cwd);
    const problems = result.config ? checkConfigFiles(result.config, options.needs) : result.errors;
    if (result.config && problems.length === 0) await options.onChange(result.config);
    else options.onError(problems.map((e) => `  - ${e}`).join('\n'));
  };
  let running: Promise<void> | undefined;
  let again = false;
  const onEvent = (changed: string) => {
    if (changed !== file) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await reload().catch((error: unknown) => options.onError(`  - ${error instanceof Error ? error.message : String(error)}`));
      } while (again);
      running = undefined;
    })();
  };
  // A directory made or removed at the name counts too: it is reported as unreadable.
  for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(event, onEvent);
  return {
    close: async () => {
      await watcher.close();
      await running;
    },
  };
}
