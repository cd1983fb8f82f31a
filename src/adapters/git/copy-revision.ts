import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { childEnv } from '../process/child-env.js';

const execFileAsync = promisify(execFile);

/**
 * Copies a commit and its history from one bare repository into another (the live colour's revision into the
 * idle colour's, for `bluegreen sync`), without creating or moving any ref there: the deploy moves main.
 */
export async function copyRevision(fromRepo: string, intoRepo: string, revision: string): Promise<void> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(childEnv())) if (!key.startsWith('GIT_')) env[key] = value;
  env.GIT_DIR = intoRepo;
  try {
    // Any commit of the source, not only a branch tip (the live colour may serve an activated older release).
    await execFileAsync(
      'git',
      ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--upload-pack=git -c uploadpack.allowAnySHA1InWant=true upload-pack', fromRepo, revision],
      { env, cwd: intoRepo },
    );
  } catch (error) {
    const reason = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0]?.replace(/^fatal: /, '');
    throw new Error(reason || (error as Error).message, { cause: error });
  }
}
