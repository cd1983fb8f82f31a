/**
 * The hooks' own overhead: a one-file push of a site with an empty `build` hook against the same push of the
 * site without hooks. Blue's host gets the plain site, green's the hooked one (two twins of one site, so each
 * host keeps its own steady state); the pushes alternate run by run, each once both hosts are quiet.
 */
import { HostSessions } from '../host-sessions.js';
import { type Site, type SiteSpec, addEmptyBuildHook, makeSite } from '../site.js';
import { type Timing, pushOurs } from '../tools.js';
import { type Context, type ScenarioResult, SpacedPushes, collect, resetOurs } from './deploys.js';

export async function hookOverhead(ctx: Context, spec: SiteSpec): Promise<ScenarioResult> {
  const { bench, server, log } = ctx;
  log(`  generating two ${spec.files} × ${spec.size} B sites (one with an empty build hook) and deploying them in full…`);
  const plain = makeSite(spec, 'plain');
  const hooked = makeSite(spec, 'hooked');
  addEmptyBuildHook(hooked);
  // Each colour's execs counted on its own host; before any push, both hosts are quiet.
  const sessions = new HostSessions([bench.hosts.blue, bench.hosts.green]);
  const spaced = { blue: new SpacedPushes(bench.blueSessions, ctx.spacingMs), green: new SpacedPushes(new HostSessions([bench.hosts.green]), ctx.spacingMs) };
  const times: Record<string, Timing[]> = { plain: [], hooked: [] };
  let changes = 0;
  const change = (site: Site) => {
    site.touch((changes * 37 + 11) % spec.files);
    return site.commit(`change ${++changes}`);
  };
  const reset = async () => {
    await sessions.quiet();
    await resetOurs(ctx, 'blue');
    await resetOurs(ctx, 'green');
  };
  try {
    await reset();
    await pushOurs(plain, server, 'blue');
    await pushOurs(hooked, server, 'green');
    // Enough warm-up pushes that each host holds BLUEGREEN_KEEP_RELEASES releases, so every timed push prunes one.
    const warmups = 5;
    for (let i = -warmups; i < ctx.runs; i++) {
      change(plain);
      await sessions.quiet();
      const without = await spaced.blue.push(() => pushOurs(plain, server, 'blue'));
      change(hooked);
      await sessions.quiet();
      const withHook = await spaced.green.push(() => pushOurs(hooked, server, 'green'));
      if (i < 0) continue;
      times.plain?.push(without);
      times.hooked?.push(withHook);
      log(`  hooks run ${i + 1}/${ctx.runs}: without ${without.seconds.toFixed(2)} s (server ${without.remote?.deploy} s), with an empty build hook ${withHook.seconds.toFixed(2)} s (server ${withHook.remote?.deploy} s)`);
    }
  } finally {
    plain.cleanup();
    hooked.cleanup();
    await reset();
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, collect(v)]));
}
