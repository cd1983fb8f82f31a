/**
 * `bluegreen flip` end to end with the `azure-appgw` and `azure-ip` providers against the fake Azure, over
 * real sshd hosts. Production is a TCP forwarder standing for the gateway's frontend / the public IP; the fake
 * re-points it when an update is applied.
 */
import t, { type Test } from 'tap';
import { assertNoSecrets, publicRevision } from './flip-env.js';
import { AZURE_SECRET, azureWorld } from './provider-worlds.js';

const short = (sha: string) => sha.slice(0, 12);

async function fullLoop(t: Test, kind: 'azure-appgw' | 'azure-ip', expect: { provider: string; moved: RegExp[]; liveIn: (fake: any) => string }) {
  const { w, fake, publicUrl, production } = await azureWorld(t, kind);
  const refused = await w.deploy('blue', 'blue v1');
  t.not(refused.push.code, 0, 'blue is live as Azure reports it');
  t.match(refused.push.output, /remote: error: refused: blue is live, it serves production traffic/);
  const forced = await w.push('blue', '-o', 'force-live');
  t.equal(forced.code, 0, forced.output);
  const blue = refused.sha;
  const green = await w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);
  t.equal(await publicRevision(publicUrl), blue);

  const flip = await w.cli(['flip', 'green', '--yes']);
  t.equal(flip.code, 0, flip.stderr);
  for (const line of expect.moved) t.match(flip.stderr, line);
  t.match(flip.stderr, new RegExp(`green is live \\(${short(green.sha)}\\), verified through ${publicUrl}`));
  t.equal(expect.liveIn(fake), 'green', 'Azure has production on green');
  t.equal(production(), w.http.green.port);
  t.equal(await publicRevision(publicUrl), green.sha, 'production serves green');

  const status = await w.cli(['status', '--json']);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), {
    provider: expect.provider,
    live: 'green',
    liveError: null,
    colours: [
      { colour: 'blue', deployed: { revision: blue }, serving: blue, healthy: true },
      { colour: 'green', deployed: { revision: green.sha }, serving: green.sha, healthy: true },
    ],
  });
  t.match(JSON.parse((await w.cli(['history', '--json'])).stdout)[0], {
    type: 'flip',
    from: 'blue',
    to: 'green',
    outcome: 'flipped',
    revisions: { blue, green: green.sha },
    durationMs: Number,
    phases: { 'verify-host-green': Number, 'move-green': Number, 'verify-public-green': Number },
  });

  const rollback = await w.cli(['rollback', '--yes', '--verbose']);
  t.equal(rollback.code, 0, rollback.stderr);
  t.match(rollback.stderr, new RegExp(`rolling back to blue[^]*blue is live \\(${short(blue)}\\), verified through`));
  t.equal(expect.liveIn(fake), 'blue');
  t.equal(production(), w.http.blue.port);
  t.equal(await publicRevision(publicUrl), blue, 'production serves blue again');
  t.equal(JSON.parse((await w.cli(['status', '--json'])).stdout).live, 'blue');
  t.match(JSON.parse((await w.cli(['history', '--json'])).stdout)[0], { type: 'flip', from: 'green', to: 'blue', outcome: 'flipped' });
  t.ok(fake.tokensIssued() > 0, 'bluegreen signed in with the secret (so the check below means something)');
  assertNoSecrets(t, w, { AZURE_CLIENT_SECRET: AZURE_SECRET });
}

t.test('azure-appgw full loop: flip green switches the routing rule to the green pool, rollback switches it back', (t) =>
  fullLoop(t, 'azure-appgw', {
    provider: 'azure application gateway gw, rule rule-main',
    moved: [
      /move traffic to green \(azure application gateway gw, rule rule-main\)/,
      /sends to blue \(pool pool-blue\); switching it to green \(pool pool-green\)/,
      /now sends to green \(pool pool-green\)/,
    ],
    liveIn: (fake) => {
      const pool = String(fake.gateways.gw.properties.requestRoutingRules[0].properties.backendAddressPool.id).split('/').pop();
      return pool === 'pool-green' ? 'green' : pool === 'pool-blue' ? 'blue' : String(pool);
    },
  }),
);

t.test('azure-ip full loop: flip green moves the public IP from the blue NIC to the green NIC, rollback moves it back', (t) =>
  fullLoop(t, 'azure-ip', {
    provider: 'azure public IP pip-prod',
    moved: [
      /detaching azure public IP pip-prod from blue \(nic-blue\); production is dark until it is attached to green/,
      /azure public IP pip-prod is now attached to green \(nic-green\)/,
    ],
    liveIn: (fake) => {
      const holds = (nic: any) => nic.properties.ipConfigurations.some((c: any) => c.properties.publicIPAddress);
      return holds(fake.nics['nic-green']) ? 'green' : holds(fake.nics['nic-blue']) ? 'blue' : 'neither';
    },
  }),
);
