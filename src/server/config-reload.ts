import { type Config, SERVE_NEEDS, decideReload } from '../core/config.js';
import { type ConfigWatcher, watchConfig } from './config-watcher.js';

/** How the running server applies an accepted configuration. */
export interface LiveChange {
  /** The deploy key or known_hosts changed: SSH connections to the hosts are to be made again. */
  reconnectHosts: boolean;
  /** Provider credentials changed: the provider is to be made again with them. */
  recreateProvider: boolean;
}

/**
 * Live configuration for `bluegreen serve`: re-reads `.env` when it changes and applies what may change
 * while running. An edit that touches where deploys or traffic go is refused whole, loudly (the last good
 * configuration stays in force, all of it); an invalid edit is reported the same way.
 */
export function watchLiveConfig(options: {
  baseEnv: NodeJS.ProcessEnv;
  cwd: string;
  log: (line: string) => void;
  current: () => Config;
  apply: (next: Config, change: LiveChange) => Promise<void>;
}): ConfigWatcher {
  return watchConfig({
    baseEnv: options.baseEnv,
    cwd: options.cwd,
    needs: SERVE_NEEDS,
    onChange: async (next) => {
      const decision = decideReload(options.current(), next);
      if (decision.action === 'unchanged') return options.log('.env re-read: no change');
      if (decision.action === 'refuse') {
        return options.log(
          `WARNING: .env now changes ${decision.needRestart.join(', ')}, which decide where deploys and traffic go: ` +
            'restart `bluegreen serve` to use them. Until then NOTHING from .env is applied' +
            `${decision.changed.length > decision.needRestart.length ? ` (not even ${decision.changed.filter((v) => !decision.needRestart.includes(v)).join(', ')})` : ''}: ` +
            'the whole last good configuration stays in force',
        );
      }
      await options.apply(next, { reconnectHosts: decision.reconnectHosts, recreateProvider: decision.recreateProvider });
      options.log(`configuration reloaded from .env (changed: ${decision.changed.join(', ')})`);
    },
    onError: (message) => options.log(`.env changed but is not valid; the last good configuration stays in force:\n${message}`),
  });
}
