import type { PreparedDeploy } from '../../src/deploy/prepared-deploy.js';

/** What a push does with a prepared deploy once git took the update: switch every host, then settle (put back if the switch failed). */
export async function commitAndSettle(prepared: PreparedDeploy, say: (line: string) => void): Promise<void> {
  try {
    await prepared.commit(say);
  } catch (error) {
    await prepared.settle({ stood: false, reason: (error as Error).message });
    throw error;
  }
  await prepared.settle({ stood: true });
}
