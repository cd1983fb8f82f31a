/**
 * `bluegreen flip` with the Azure providers when Azure fails: a Failed long-running operation, a public IP
 * that cannot be attached (put back where it was), a rejected client secret. Each says where production
 * points, exits with the right code, leaves traffic on blue, and never shows the secret (also with --verbose).
 */
import t, { type Test } from 'tap';
import { assertNoSecrets, publicRevision } from './flip-env.js';
import { AZURE_SECRET, azureWorld } from './provider-worlds.js';

const WRONG_SECRET = 'Zq8~FLIPTEST~wrong~secret~9876543210';

async function blueLiveGreenDeployed(t: Test, kind: 'azure-appgw' | 'azure-ip') {
  const world = await azureWorld(t, kind);
  const blue = await world.w.deploy('blue', 'blue v1', 'force-live');
  t.equal(blue.push.code, 0, blue.push.output);
  const green = await world.w.deploy('green', 'green v2');
  t.equal(green.push.code, 0, green.push.output);
  const unchanged = async (t: Test) => {
    t.equal(world.production(), world.w.http.blue.port, 'production reaches blue');
    t.equal(await publicRevision(world.publicUrl), blue.sha, 'production serves blue');
    t.equal(JSON.parse((await world.w.cli(['status', '--json'])).stdout).live, 'blue', 'Azure reports blue live');
  };
  return { ...world, blue, green, unchanged };
}

t.test('azure-appgw: the gateway update ends Failed', async (t) => {
  const { w, fake, unchanged } = await blueLiveGreenDeployed(t, 'azure-appgw');
  // Azure's usual style: Azure-AsyncOperation, polled after its Retry-After (0 s in this world), then Failed.
  fake.lroStyle = 'async';
  fake.outcomes.push('Failed');
  const r = await w.cli(['flip', 'green', '--yes', '--verbose']);
  t.equal(r.code, 1, r.stderr);
  t.match(
    r.stderr,
    /error: moving traffic to green failed: Azure reports the update of application gateway gw \(AZURE_APP_GATEWAY\) Failed: InternalServerError: The operation failed: the backend did not answer\.; rule rule-main: it sends to blue \(pool pool-blue\)\. Production now points at: blue\n/,
  );
  t.match(r.stderr, /hint: see the resource in the Azure portal \(Activity log\) for details/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace for a reported failure, even with --verbose');
  t.match(w.history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'failed', error: /Failed/ });
  await unchanged(t);

  t.test('a rejected client secret: refused before anything moves, naming AZURE_CLIENT_SECRET, never its value', async (t) => {
    const r = await w.cli(['flip', 'green', '--yes', '--verbose'], { AZURE_CLIENT_SECRET: WRONG_SECRET });
    t.equal(r.code, 2, 'a bad secret is bad configuration');
    t.match(r.stderr, /error: Azure sign-in failed for client client-flip in tenant tenant-flip: HTTP 401 invalid_client \(AADSTS7000215: Invalid client secret provided/);
    t.match(r.stderr, /hint: check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET/);
    const status = await w.cli(['status', '--json'], { AZURE_CLIENT_SECRET: WRONG_SECRET });
    t.equal(status.code, 0, status.stderr);
    t.match(JSON.parse(status.stdout), { live: null, liveError: /Azure sign-in failed/ });
    await unchanged(t);
  });

  t.test('no secret anywhere', async (t) => {
    assertNoSecrets(t, w, { AZURE_CLIENT_SECRET: AZURE_SECRET, 'the wrong secret': WRONG_SECRET });
  });
});

t.test('azure-ip: attaching the public IP to green fails; it is re-attached to blue', async (t) => {
  const { w, fake, unchanged } = await blueLiveGreenDeployed(t, 'azure-ip');
  fake.outcomes.push('Succeeded', 'Failed'); // detach from blue works; attach to green fails
  const r = await w.cli(['flip', 'green', '--yes', '--verbose']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /detaching azure public IP pip-prod from blue \(nic-blue\); production is dark until it is attached to green/);
  t.match(r.stderr, /attaching to green failed; re-attaching azure public IP pip-prod to blue/);
  t.match(
    r.stderr,
    /error: moving traffic to green failed: could not attach azure public IP pip-prod to green \(Azure reports network interface nic-green \(GREEN_NIC\) in provisioning state Failed after the update\); re-attached it to blue: production is on blue again\. Production now points at: blue\n/,
  );
  t.match(r.stderr, /hint: fix what Azure reported, then run `bluegreen flip green` again/);
  t.match(w.history()[0], { type: 'flip', from: 'blue', to: 'green', outcome: 'failed' });
  await unchanged(t);
  assertNoSecrets(t, w, { AZURE_CLIENT_SECRET: AZURE_SECRET });
});
