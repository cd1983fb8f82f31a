import type { Colour } from './colour.js';
import { SYMLINK_MODE, type TreeEntry } from './tree-changes.js';

/** The application hooks, in the order a deploy runs them (see DESIGN.md, "Hooks and shared paths"). */
export const HOOK_NAMES = ['build', 'migrate', 'restart'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Where the pushed tree keeps its hooks and its schema declaration. */
export const HOOKS_DIR = '.bluegreen/hooks';
export const SCHEMA_FILE = '.bluegreen/schema';
/** BLUEGREEN_HOOK_TIMEOUT when unset (seconds). */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 900;

/** What the pushed tree says about its hooks. */
export interface AppHooks {
  /** The hooks that run. */
  run: ReadonlySet<HookName>;
  /** One line per hook that does not run, when the tree has a hooks directory at all (a static site says nothing). */
  skipped: string[];
}

/**
 * Which hooks of the pushed tree run: an executable file (or a symlink, which the host checks) runs; a file
 * without the executable bit, or a hook that is not there, is skipped with a line saying so.
 */
export function findHooks(entries: readonly TreeEntry[]): AppHooks {
  const run = new Set<HookName>();
  const skipped: string[] = [];
  const hasDir = entries.some((e) => e.path.startsWith(`${HOOKS_DIR}/`));
  for (const name of HOOK_NAMES) {
    const path = `${HOOKS_DIR}/${name}`;
    const entry = entries.find((e) => e.path === path);
    if (entry && (entry.mode === '100755' || entry.mode === SYMLINK_MODE)) run.add(name);
    else if (entry) skipped.push(`${name}: skipped: ${path} is not executable (\`git update-index --chmod=+x ${path}\` and commit)`);
    else if (hasDir) skipped.push(`${name}: skipped: the commit has no ${path}`);
  }
  return { run, skipped };
}

/** What a hook run is told, besides its host's own paths. */
export interface HookContext {
  colour: Colour;
  revision: string;
  release: string;
  appRoot: string;
  /** The release served before this one, if any. */
  previous: string | undefined;
  host: string;
  pusher: string;
  live: boolean;
}

/** The environment a hook runs with, as `NAME=value` (the documented names). */
export function hookEnvironment(context: HookContext): string[] {
  const root = context.appRoot.replace(/\/+$/, '');
  const vars: Record<string, string> = {
    BLUEGREEN_COLOUR: context.colour,
    BLUEGREEN_REVISION: context.revision,
    BLUEGREEN_RELEASE: context.release,
    BLUEGREEN_RELEASE_DIR: `${root}/releases/${context.release}`,
    BLUEGREEN_PREVIOUS_RELEASE_DIR: context.previous ? `${root}/releases/${context.previous}` : '',
    BLUEGREEN_APP_ROOT: root,
    BLUEGREEN_SHARED_DIR: `${root}/shared`,
    BLUEGREEN_HOST: context.host,
    BLUEGREEN_PUSHER: context.pusher,
    BLUEGREEN_LIVE: context.live ? 'true' : 'false',
  };
  return Object.entries(vars).map(([name, value]) => `${name}=${value}`);
}

/** How many of a failed hook's last lines its error quotes. */
export const HOOK_TAIL_LINES = 10;

/** Why a hook run failed, in words, or undefined when it succeeded. */
export function hookFailure(hook: HookName, outcome: { code: number; timedOut: boolean; timeoutSeconds: number; lastLines: readonly string[] }): string | undefined {
  if (outcome.code === 0) return undefined;
  const tail = outcome.lastLines.length > 0 ? `; its last lines:\n${outcome.lastLines.map((l) => `    ${l}`).join('\n')}` : '';
  if (outcome.timedOut) return `the ${hook} hook took longer than BLUEGREEN_HOOK_TIMEOUT (${outcome.timeoutSeconds} s) and was killed with its children${tail}`;
  return `the ${hook} hook failed (exit code ${outcome.code})${tail}`;
}
