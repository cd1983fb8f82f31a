import { checkHealth, readRevision } from '../adapters/http/checks.js';
import type { Provider, SlotStatus } from '../adapters/providers/provider.js';
import { hostKeyFingerprint } from '../adapters/ssh/host-key.js';
import { type HistoryRecord, deployedRevision, readHistory } from '../adapters/state/history.js';
import { type LockHolder, readLock } from '../adapters/state/locks.js';
import { readSchemaVersion } from '../adapters/state/schema-version.js';
import { formatRange } from '../core/schema-guard.js';
import { revisionRelease } from '../deploy/schema-facts.js';
import { COLOURS, type Colour } from '../core/colour.js';
import type { Config } from '../core/config.js';
import { resolveHosts } from '../deploy/resolve-hosts.js';
import { repoPath } from '../adapters/git/repos.js';
import { RevisionReader } from '../adapters/git/revisions.js';

export interface HostStatus {
  host: string;
  url: string;
  /** The REVISION the host serves, or null when it does not answer with one. */
  revision: string | null;
  serving: string | null;
  healthy: boolean;
  health: string;
}

export interface ColourStatus {
  colour: Colour;
  /** The first host's address (the colour-level fields summarise its hosts). */
  url: string;
  /** The last deploy (or activation) on record: the revision, when, its release id and who deployed it. */
  deployed: { revision: string; at: string; release: string; by: string } | null;
  /** What every host serves, when they agree; null otherwise. */
  serving: string | null;
  healthy: boolean;
  health: string;
  lock: LockHolder | null;
  hosts: HostStatus[];
  /** The idle colour's deployed revision is an ancestor of the live colour's: `bluegreen sync` brings it level. */
  behind: boolean;
}

export interface Status {
  provider: string;
  live: Colour | null;
  liveError: string | null;
  colours: ColourStatus[];
  /** Git over SSH (null when BLUEGREEN_SSH_LISTEN is off): its host key's fingerprint, null before `serve` made it. */
  gitSsh: { hostKey: string | null } | null;
  /** The schema guard: the database's recorded version (null before a migrate recorded one), each colour's compatible range. */
  schema: { database: number | null; compatible: Partial<Record<Colour, string>> };
  /** `azure-slots`: which colour is in which slot, each slot's host name and the REVISION it serves. */
  slots?: SlotStatus[];
}

/** A host's label for status: the URL's host and port. */
function hostLabel(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** What `bluegreen status` (and the status API) show: one reader for every front door. */
export async function readStatus(config: Config, provider: Provider): Promise<Status> {
  const history = await readHistory(config.dataDir);
  const [live, ...colours] = await Promise.all([
    provider.liveColour().then(
      (colour) => ({ colour: colour ?? null, error: null }),
      (error: Error) => ({ colour: null, error: error.message }),
    ),
    ...COLOURS.map(async (colour): Promise<ColourStatus> => {
      // The colour's hosts as they are now; a lookup that fails is the colour's health, not the end of the status.
      const found = await resolveHosts(config, colour).then(
        (targets) => ({ targets, problem: undefined }),
        (error: Error) => ({ targets: [], problem: `its hosts could not be looked up: ${error.message}` }),
      );
      const [hosts, lock] = await Promise.all([
        Promise.all(
          found.targets.map(async (host): Promise<HostStatus> => {
            const [health, serving] = await Promise.all([
              checkHealth(host.url, config.healthPath, { consecutive: 1, deadlineMs: 0, requestTimeoutMs: 3000 }),
              readRevision(host.url, { timeoutMs: 3000 }).catch(() => null),
            ]);
            const label = host.kind === 'ssh' ? host.host : hostLabel(host.url);
            return { host: label, url: host.url, revision: serving, serving, healthy: health.ok, health: health.summary };
          }),
        ),
        readLock(config.dataDir, colour),
      ]);
      const deployed = deployedRevision(history, colour);
      const served = new Set(hosts.map((h) => h.serving));
      const unhealthy = hosts.filter((h) => !h.healthy);
      return {
        colour,
        url: hosts[0]?.url ?? '',
        deployed: deployed ? { revision: deployed.revision, at: deployed.at, release: deployed.release, by: deployed.by } : null,
        serving: served.size === 1 ? (hosts[0]?.serving ?? null) : null,
        healthy: unhealthy.length === 0 && !found.problem,
        health: found.problem ?? (hosts.length === 1 ? (hosts[0]?.health ?? '') : unhealthy.length === 0 ? `all ${hosts.length} hosts healthy` : unhealthy.map((h) => `${h.host}: ${h.health}`).join('; ')),
        lock: lock ?? null,
        hosts,
        behind: false,
      };
    }),
  ]);
  if (live.colour) {
    const idle = colours.find((c) => c.colour !== live.colour);
    const liveRevision = deployedRevision(history, live.colour)?.revision;
    const idleRevision = idle?.deployed?.revision;
    // In the live colour's repository: it holds the live revision's history, and so the idle one when it is an ancestor.
    if (idle && liveRevision && idleRevision && idleRevision !== liveRevision) {
      idle.behind = await new RevisionReader(repoPath(config.dataDir, live.colour)).isAncestor(idleRevision, liveRevision);
    }
  }
  const gitSsh = config.sshListen ? { hostKey: hostKeyFingerprint(config.dataDir) } : null;
  // A provider that cannot be read now says so in liveError already.
  const slots = provider.slots ? await provider.slots().catch(() => undefined) : undefined;
  return { provider: provider.description, live: live.colour, liveError: live.error, colours, gitSsh, schema: await readSchemaStatus(config.dataDir, history), ...(slots ? { slots } : {}) };
}

/** The database's recorded schema version and the range each colour's deployed release declares ('any' without one). */
async function readSchemaStatus(dataDir: string, history: HistoryRecord[]): Promise<Status['schema']> {
  const compatible: Partial<Record<Colour, string>> = {};
  await Promise.all(
    COLOURS.map(async (colour) => {
      const served = deployedRevision(history, colour);
      const release = served && (await revisionRelease(dataDir, colour, served.revision).catch(() => undefined));
      if (release) compatible[colour] = formatRange(release.schema);
    }),
  );
  return { database: readSchemaVersion(dataDir)?.version ?? null, compatible };
}
