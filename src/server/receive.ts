import type { Colour } from '../core/colour.js';

/** One line of git's pre-receive input. */
export interface RefUpdate {
  oldrev: string;
  newrev: string;
  ref: string;
}

/** What the pre-receive hook hands the deploy engine running in the server process. */
export interface ReceiveRequest {
  colour: Colour;
  updates: RefUpdate[];
  /** `git push -o VALUE` values, in order. */
  pushOptions: string[];
  /** The authenticated user whose push this is. */
  pusher: string;
  /**
   * GIT_* variables the engine must pass to git to read the pushed (still quarantined) objects:
   * GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_QUARANTINE_PATH when set.
   */
  gitEnv: Record<string, string>;
  /** The bare repository's directory. */
  repoDir: string;
}

/**
 * Decides what to do with a push and does it. `say` sends one line to the pusher (shown as `remote: ...`).
 * Resolves to accept the push; rejects (with a UserError for a readable reason) to refuse it, which leaves
 * every ref unchanged. `interrupted` aborts when the push can no longer succeed (the pusher hung up).
 */
export type ReceiveHandler = (request: ReceiveRequest, say: (line: string) => void, interrupted: AbortSignal) => Promise<void>;
