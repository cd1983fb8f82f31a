import type { RevisionReader } from '../../adapters/git/revisions.js';
import type { HookName } from '../../core/app-hooks.js';
import type { Colour } from '../../core/colour.js';

/** What a deploy target holds now. */
export interface TargetState {
  /** Release ids, oldest first. */
  releases: string[];
  /** The release being served, if any. */
  current: string | undefined;
  /** The revision of the release being served, when known. */
  currentRevision: string | undefined;
}

export interface PrepareInput {
  colour: Colour;
  revision: string;
  /** The release id, the same on every target of the colour. */
  release: string;
  /** What `inspect` found, under the colour's lock. */
  state: TargetState;
  reader: RevisionReader;
  keepReleases: number;
  say: (line: string) => void;
  /** The application's hooks and shared paths, when it has any. */
  app?: AppRun;
  /** Lines that always name the host (a hook's output). */
  sayHost?: (line: string) => void;
}

/** How a deploy runs the application's hooks and links its shared paths. */
export interface AppRun {
  /** The hooks of the pushed tree that run. */
  hooks: ReadonlySet<HookName>;
  /** BLUEGREEN_SHARED_PATHS. */
  shared: readonly string[];
  timeoutSeconds: number;
  pusher: string;
  /** The colour takes production traffic. */
  live: boolean;
}

/** A release made ready to serve on one target, not yet switched to. */
export interface PreparedRelease {
  readonly release: string;
  /** The release it was built from, for an incremental deploy. */
  readonly base: string | undefined;
  readonly counts: { added: number; changed: number; removed: number };
  readonly bytesSent: number;
  /** Milliseconds per phase (diff, send, switch), for the benchmark. */
  readonly phases: Record<string, number>;
  /** Before `commit`, on one target of the colour: runs the `migrate` hook in the prepared release. */
  migrate?(): Promise<void>;
  /** Switches to the release (then runs its `restart` hook; if that fails, back to the previous release). */
  commit(): Promise<void>;
  /** After `commit`: back to the release served before, the new one removed. */
  revert(): Promise<void>;
  /** Before `commit`: removes what `prepare` made. Never throws. */
  discard(): Promise<void>;
  /** After `commit` stood: starts the work that runs off the push's clock (the next deploy waits for it). */
  finish(log: (line: string) => void): void;
}

/**
 * Where a colour's release goes: two-phase, so every target of a colour is prepared before any switches.
 * A target need not be a shell (an App Service slot is one too).
 */
export interface DeployTarget {
  /** e.g. `deploy@10.0.0.5:22`, used in progress and errors. */
  readonly label: string;
  /** Where on the target the releases live, for progress lines. */
  readonly appRoot: string;
  inspect(): Promise<TargetState>;
  prepare(input: PrepareInput): Promise<PreparedRelease>;
  /** Points the target back at a release it holds (then runs that release's `restart` hook, with `restart`). */
  activate(release: string, restart?: RestartContext): Promise<void>;
  /** Resolves once the work started by `finish` is done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Who asks for an activate, for the `restart` hook it runs. */
export interface RestartContext {
  colour: Colour;
  pusher: string;
  live: boolean;
  timeoutSeconds: number;
  /** Where the restart's output goes. */
  say: (line: string) => void;
}

/**
 * A target found that it no longer holds what it was last read to hold (another process deployed or activated
 * in the meantime): nothing was changed, and reading it again and preparing again will do.
 */
export class TargetChangedError extends Error {
  constructor(label: string) {
    super(`${label} changed while this deploy read it (another deploy or an activate ran at the same time)`);
    this.name = 'TargetChangedError';
  }
}
