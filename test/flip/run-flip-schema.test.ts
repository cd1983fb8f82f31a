/**
 * The schema guard on whatever makes a release serve production (DESIGN.md, "Schema guard"), in process: a flip
 * (runFlip) to a colour whose release does not work with the database's recorded version is refused, and
 * --force passes, on record; `activate` of the live colour is guarded the same way, and its restart hook is
 * told BLUEGREEN_LIVE as the provider reports it. Hosts are file:// app roots with hand-made releases; each
 * colour's HTTP address serves what its `current` holds; a recording provider moves traffic.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoPath } from '../../src/adapters/git/repos.js';
import type { Provider } from '../../src/adapters/providers/provider.js';
import { type HistoryRecord, appendHistory, readHistory } from '../../src/adapters/state/history.js';
import { writeSchemaVersion } from '../../src/adapters/state/schema-version.js';
import type { Colour } from '../../src/core/colour.js';
import { parseConfig } from '../../src/core/config.js';
import { activateRelease } from '../../src/deploy/releases.js';
import { describe } from '../../src/cli/commands/history.js';
import { runFlip } from '../../src/flip/run-flip.js';
import { WorkRepo } from '../helpers/git-repo.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-schema-serving-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = path.join(dir, 'data');
const roots = { blue: path.join(dir, 'blue'), green: path.join(dir, 'green') };

// Green's repository: an older release that works with database version 2, and the current one with 1 only.
const work = new WorkRepo();
t.teardown(() => work.cleanup());
work.write('index.html', 'green\n').write('.bluegreen/schema', 'compatible=2-2\n');
const works = work.commit('works with 2');
work.write('.bluegreen/schema', 'compatible=1-1\n');
const stale = work.commit('works with 1 only');
mkdirSync(path.dirname(repoPath(dataDir, 'green')), { recursive: true });
execFileSync('git', ['clone', '-q', '--bare', work.dir, repoPath(dataDir, 'green')]);

/** A release of `revision` on a colour's host, made at `second` past midnight, as a deploy leaves it (the hook included). */
function release(colour: Colour, revision: string, second: number): string {
  const id = `202601010000${String(second).padStart(2, '0')}-${revision.slice(0, 12)}`;
  const at = path.join(roots[colour], 'releases', id);
  mkdirSync(path.join(at, '.bluegreen/hooks'), { recursive: true });
  writeFileSync(path.join(at, 'REVISION'), `${revision}\n`);
  writeFileSync(path.join(at, '.bluegreen/hooks/restart'), '#!/bin/sh\necho "restarted live=$BLUEGREEN_LIVE"\n', { mode: 0o755 });
  return id;
}
const olderId = release('green', works, 1);
const currentId = release('green', stale, 2);
symlinkSync(`releases/${currentId}`, path.join(roots.green, 'current'));
const blueId = release('blue', 'b'.repeat(40), 1);
symlinkSync(`releases/${blueId}`, path.join(roots.blue, 'current'));
await appendHistory(dataDir, { type: 'deploy', at: new Date().toISOString(), colour: 'blue', revision: 'b'.repeat(40), release: blueId, by: 'alice', outcome: 'deployed', durationMs: 1 });
await appendHistory(dataDir, { type: 'deploy', at: new Date().toISOString(), colour: 'green', revision: stale, release: currentId, by: 'alice', outcome: 'deployed', durationMs: 1 });
writeSchemaVersion(dataDir, { version: 2, colour: 'blue', revision: 'b'.repeat(40), at: new Date().toISOString() });

// Each colour's address serves its `current`; production serves the live colour's.
let live: Colour | undefined = 'blue';
const serveRoot = (root: () => string | undefined) =>
  new Promise<{ url: string; server: http.Server }>((resolve) => {
    const server = http.createServer((req, res) => {
      const at = root();
      res.end(at && req.url === '/REVISION' ? readFileSync(path.join(at, 'current/REVISION')) : 'ok');
    });
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server }));
  });
const servers = await Promise.all([serveRoot(() => roots.blue), serveRoot(() => roots.green), serveRoot(() => (live ? roots[live] : undefined))]);
t.teardown(() => Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve)))));
const [blueHttp, greenHttp, production] = servers;
const parsed = parseConfig(
  {
    BLUEGREEN_DATA_DIR: dataDir,
    BLUE_HOST: `file://${roots.blue}`,
    GREEN_HOST: `file://${roots.green}`,
    BLUE_URL: blueHttp!.url,
    GREEN_URL: greenHttp!.url,
    BLUEGREEN_PUBLIC_URL: production!.url,
    BLUEGREEN_VERIFY_TIMEOUT: '5',
  },
  dir,
);
if (!parsed.config) throw new Error(parsed.errors.join('\n'));
const config = parsed.config;
const moves: Colour[] = [];
const provider: Provider = {
  description: 'recording provider',
  liveColour: async () => live,
  moveTraffic: async (colour) => {
    moves.push(colour);
    live = colour;
  },
  close: async () => {},
};

t.test('a flip to a release that does not work with the database is refused; --force flips, on record', async (t) => {
  const said: string[] = [];
  const flip = (force?: boolean) => runFlip({ config, provider, target: 'green', by: 'alice', say: (line) => said.push(line), ...(force ? { force } : {}) });
  await t.rejects(flip(), {
    message: `refused by the schema guard: flipping to green would make green's ${stale.slice(0, 12)} serve production, but it works with database versions 1-1 and the database is at version 2; nothing was changed`,
    hint: 'deploy a release compatible with version 2, or do it anyway: `bluegreen flip green --force` (recorded in history)',
  });
  t.same(moves, [], 'traffic never moved');
  t.equal(live, 'blue');

  t.equal(await flip(true), 'flipped');
  t.same(moves, ['green']);
  t.match(said.join('\n'), `forced past the schema guard: flipping to green would make green's ${stale.slice(0, 12)} serve production, but it works with database versions 1-1 and the database is at version 2`);
  t.match((await readHistory(dataDir))[0], { type: 'flip', to: 'green', outcome: 'flipped', note: 'schema guard overridden (force)' });
  t.match(describe((await readHistory(dataDir))[0] as HistoryRecord), /flip +blue -> green +by \S+, flipped \(schema guard overridden \(force\)\)$/, 'history says it was forced');
});

t.test('activate of the live colour: guarded like a flip; its restart is told BLUEGREEN_LIVE=true (the idle colour false)', async (t) => {
  t.equal(live, 'green', 'green is live since the forced flip');
  const said: string[] = [];
  const activate = (colour: Colour, id: string, force?: boolean) =>
    activateRelease(config, colour, id, 'alice', { say: (line) => said.push(line), liveColour: () => provider.liveColour(), ...(force ? { force } : {}) });

  t.equal(await activate('green', olderId), works, 'a release that works with version 2 is activated');
  t.match(said.join('\n'), /\] restart: restarted live=true$/m, 'the live colour restarts with BLUEGREEN_LIVE=true');

  await t.rejects(activate('green', currentId), {
    message: `refused by the schema guard: activating ${currentId} on the live colour green would make green's ${stale.slice(0, 12)} serve production, but it works with database versions 1-1 and the database is at version 2; nothing was changed`,
    hint: `deploy a release compatible with version 2, or do it anyway: \`bluegreen activate green ${currentId} --force\` (recorded in history)`,
  });
  t.equal(path.basename(execFileSync('readlink', [path.join(roots.green, 'current')], { encoding: 'utf8' }).trim()), olderId, 'nothing was changed');

  said.length = 0;
  t.equal(await activate('green', currentId, true), stale, '--force activates it');
  t.match(said.join('\n'), `forced past the schema guard: activating ${currentId} on the live colour green`);
  t.match((await readHistory(dataDir))[0], { type: 'activate', colour: 'green', release: currentId, note: 'schema guard overridden (force)' });
  t.match(describe((await readHistory(dataDir))[0] as HistoryRecord), /activate +green .* \(release \S+\) \(schema guard overridden \(force\)\)$/);

  said.length = 0;
  t.equal(await activate('blue', blueId), 'b'.repeat(40), 'the idle colour is not guarded');
  t.match(said.join('\n'), /\] restart: restarted live=false$/m, 'and its restart is told BLUEGREEN_LIVE=false');
  t.notOk('note' in (await readHistory(dataDir))[0]!);
});

t.test('activate when the provider cannot tell which colour is live: refused while a schema version is recorded, unless forced', async (t) => {
  const said: string[] = [];
  const unreachable = () => Promise.reject(new Error('the router: connection refused'));
  const activate = (force?: boolean) => activateRelease(config, 'green', olderId, 'alice', { say: (line) => said.push(line), liveColour: unreachable, ...(force ? { force } : {}) });
  const before = execFileSync('readlink', [path.join(roots.green, 'current')], { encoding: 'utf8' }).trim();
  await t.rejects(activate(), {
    message: `refused: cannot tell whether green is live (the router: connection refused), so the schema guard cannot check release ${olderId}; nothing was changed`,
    hint: `try again once the provider answers, or activate anyway: \`bluegreen activate green ${olderId} --force\``,
  });
  t.equal(execFileSync('readlink', [path.join(roots.green, 'current')], { encoding: 'utf8' }).trim(), before, 'nothing was changed');
  t.equal(await activate(true), works, 'forced, it activates');
  t.match(said.join('\n'), 'could not tell which colour is live (the router: connection refused): green is taken as idle');
});
