import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEPLOY_REF } from '../../core/ref-policy.js';
import { childEnv } from '../process/child-env.js';

const execFileAsync = promisify(execFile);

/**
 * The variable hooks/git-hook.pl lets one update of main through with, without asking the deploy engine: its
 * value is that update's reference-transaction line (`OLD NEW refs/heads/main`), and no other update matches it.
 */
export const INTERNAL_UPDATE_VARIABLE = 'BLUEGREEN_INTERNAL_UPDATE';

/**
 * Moves main from `previous` (all zeros: main must not exist yet) to `next`, only if it still is `previous`:
 * for `bluegreen deploy`, which switched the hosts itself under the colour's lock, so no push is behind it.
 */
export async function updateMain(repoDir: string, next: string, previous: string): Promise<void> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(childEnv())) if (!key.startsWith('GIT_') && key !== INTERNAL_UPDATE_VARIABLE) env[key] = value;
  env.GIT_DIR = repoDir;
  env[INTERNAL_UPDATE_VARIABLE] = `${previous} ${next} ${DEPLOY_REF}`;
  try {
    await execFileAsync('git', ['update-ref', DEPLOY_REF, next, previous], { env, cwd: repoDir });
  } catch (error) {
    // git's first line says why; the rest is advice about stale lock files.
    const reason = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0]?.replace(/^fatal: /, '');
    throw new Error(reason || (error as Error).message, { cause: error });
  }
}
