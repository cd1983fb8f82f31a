import t, { type Test } from 'tap';
import { createAzurePublicIpProvider } from '../../../../src/adapters/providers/azure/public-ip.js';
import { type FakeAzure, networkInterface, resourceId, startFakeAzure } from '../../../fakes/azure-api.js';
import { httpGet, startBackend } from '../../../fakes/backends.js';
import { virtualClock } from '../../../fakes/clock.js';
import { startTcpForwarder } from '../../../fakes/tcp-forwarder.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

const SECRET = 'Zq8~client-secret-value-0123456789';
const IDS = { tenantId: 'tenant-1', clientId: 'client-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };
const everythingSaid: string[] = [];
const nic = (name: string, pip?: string) => networkInterface(IDS.subscriptionId, IDS.resourceGroup, name, pip);

async function setup(t: Test, options: { holder?: string | null; deadlineMs?: number } = {}) {
  const clock = virtualClock();
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const other = await startBackend('other');
  const portOfNic: Record<string, number> = { 'nic-blue': blue.port, 'nic-green': green.port, 'nic-other': other.port };
  const holder = options.holder === undefined ? 'nic-blue' : options.holder;
  const forwarder = await startTcpForwarder(holder ? portOfNic[holder] : undefined);
  const darkMoments: string[] = [];
  const fake: FakeAzure = await startFakeAzure({
    ...IDS,
    clientSecret: SECRET,
    now: clock.now,
    tokenLifetimeS: 120,
    nics: {
      'nic-blue': nic('nic-blue', holder === 'nic-blue' ? 'pip-prod' : undefined),
      'nic-green': nic('nic-green', holder === 'nic-green' ? 'pip-prod' : undefined),
      'nic-other': nic('nic-other', holder === 'nic-other' ? 'pip-prod' : undefined),
      'nic-bare': { ...nic('nic-bare'), properties: { provisioningState: 'Succeeded', ipConfigurations: [] } },
    },
    polls: 3,
    // The public IP stands for production: it reaches whichever NIC holds it, or nothing.
    onChange: () => {
      const holding = Object.values(fake.nics).find((n: any) =>
        n.properties.ipConfigurations.some((c: any) => c.properties.publicIPAddress?.id?.endsWith('/publicIPAddresses/pip-prod')),
      );
      if (!holding) darkMoments.push('dark');
      forwarder.setTarget(holding ? portOfNic[holding.name] : undefined);
    },
  });
  const provider = (nics = { blue: 'nic-blue', green: 'nic-green' }) =>
    createAzurePublicIpProvider(
      { kind: 'azure-ip', azure: { ...IDS, clientSecret: SECRET, armUrl: fake.url, authorityUrl: fake.url }, publicIp: 'pip-prod', nics },
      { pollIntervalMs: 1000, deadlineMs: options.deadlineMs ?? 600_000, ...clock },
    );
  const said: string[] = [];
  const say = (line: string) => {
    said.push(line);
    everythingSaid.push(line);
  };
  t.teardown(async () => {
    await fake.close();
    await forwarder.close();
    await Promise.all([blue.close(), green.close(), other.close()]);
  });
  const through = async () => (await httpGet(forwarder.url).catch((error: Error) => ({ body: `unreachable (${error.message})` }))).body;
  const failsWith = (promise: Promise<unknown>, message: RegExp, hint?: RegExp) =>
    rejectsWithUserError(t, promise, { message, hint, secrets: [SECRET, /eyJfake/] });
  return { clock, fake, provider: provider(), makeProvider: provider, said, say, through, failsWith, darkMoments };
}

t.test('moves the public IP: detach from blue, wait, attach to green; traffic reaches green', async (t) => {
  const { fake, provider, said, say, through, darkMoments } = await setup(t);
  t.equal(provider.description, 'azure public IP pip-prod');
  t.equal(await provider.liveColour(), 'blue');
  t.equal(await through(), 'blue');
  await provider.moveTraffic('green', say);
  t.equal(await through(), 'green');
  t.equal(await provider.liveColour(), 'green');
  t.same(darkMoments, ['dark'], 'dark between detach and attach, as documented');
  t.same(said, [
    'detaching azure public IP pip-prod from blue (nic-blue); production is dark until it is attached to green',
    'attaching azure public IP pip-prod to green (nic-green)',
    'azure public IP pip-prod is now attached to green (nic-green)',
  ]);
  t.same(
    fake.requests.filter((r) => r.startsWith('PUT')),
    [
      `PUT ${resourceId('sub-1', 'rg-1', 'networkInterfaces', 'nic-blue')}`,
      `PUT ${resourceId('sub-1', 'rg-1', 'networkInterfaces', 'nic-green')}`,
    ],
  );
  t.equal(
    fake.nics['nic-green'].properties.ipConfigurations[0].properties.publicIPAddress.id,
    resourceId('sub-1', 'rg-1', 'publicIPAddresses', 'pip-prod'),
  );
  await provider.moveTraffic('green', say);
  t.equal(said.at(-1), 'azure public IP pip-prod is already attached to green (nic-green)');
});

t.test('attached to neither: attaches directly; on a third NIC: liveColour undefined and the attach is refused', async (t) => {
  t.test('neither', async (t) => {
    const { provider, said, say, through } = await setup(t, { holder: null });
    t.equal(await provider.liveColour(), undefined);
    await provider.moveTraffic('blue', say);
    t.equal(said[0], 'azure public IP pip-prod is attached to neither blue nor green; attaching it to blue');
    t.equal(await through(), 'blue');
  });
  t.test('a third NIC', async (t) => {
    const { provider, say, failsWith, through } = await setup(t, { holder: 'nic-other' });
    t.equal(await provider.liveColour(), undefined);
    await failsWith(
      provider.moveTraffic('blue', say),
      /^could not attach azure public IP pip-prod to blue: Azure refused PUT network interface nic-blue \(BLUE_NIC\) \(400 PublicIPAddressInUse: .*\); the public IP is attached to neither nic-blue nor nic-green: production is DARK unless it is attached elsewhere$/,
    );
    t.equal(await through(), 'other');
  });
});

t.test('attach fails: re-attached to blue, and the error says production is on blue again', async (t) => {
  const { fake, provider, say, said, failsWith, through } = await setup(t);
  fake.outcomes.push('Succeeded', 'Failed', 'Succeeded');
  await failsWith(
    provider.moveTraffic('green', say),
    /^could not attach azure public IP pip-prod to green \(Azure reports the update of network interface nic-green \(GREEN_NIC\) Failed: InternalServerError: .*\); re-attached it to blue: production is on blue again$/,
    /bluegreen flip green/,
  );
  t.ok(said.includes('attaching to green failed; re-attaching azure public IP pip-prod to blue'));
  t.equal(await through(), 'blue');
  t.equal(await provider.liveColour(), 'blue');
});

t.test('attach and re-attach both fail: the error says production is dark and what to do', async (t) => {
  const { fake, provider, say, failsWith, through } = await setup(t);
  fake.outcomes.push('Succeeded', 'Failed', 'Canceled');
  await failsWith(
    provider.moveTraffic('green', say),
    /^could not attach azure public IP pip-prod to green \(.*Failed.*\), and re-attaching it to blue failed too \(Azure reports the update of network interface nic-blue \(BLUE_NIC\) Canceled: .*\): the public IP is attached to neither nic-blue nor nic-green: production is DARK/,
    /attach it by hand now .*nic-blue.*pip-prod/,
  );
  t.match(await through(), /^unreachable/);
});

t.test('detach fails: nothing moved, production still on blue', async (t) => {
  const { fake, provider, say, failsWith, through } = await setup(t);
  fake.outcomes.push('Failed');
  await failsWith(
    provider.moveTraffic('green', say),
    /^could not detach azure public IP pip-prod from blue: Azure reports the update of network interface nic-blue \(BLUE_NIC\) Failed: .*; production is on blue \(nic-blue\)$/,
    /Activity log/,
  );
  t.equal(await through(), 'blue');
});

t.test('attach fails with nothing to go back to', async (t) => {
  const { fake, provider, say, failsWith } = await setup(t, { holder: null });
  fake.outcomes.push('Failed');
  await failsWith(provider.moveTraffic('green', say), /^could not attach azure public IP pip-prod to green: Azure reports .* Failed: .*; the public IP is attached to neither/);
});

t.test('busy NIC and throttling are waited out', async (t) => {
  const { fake, provider, say, through, clock } = await setup(t);
  fake.busyNext(1);
  fake.throttleNext(1, '5');
  await provider.moveTraffic('green', say);
  t.equal(await through(), 'green');
  t.equal(clock.slept[0], 5000);
});

t.test('a target NIC without ip configurations: refused before anything is detached', async (t) => {
  const { makeProvider, fake, say, failsWith, through } = await setup(t);
  await failsWith(makeProvider({ blue: 'nic-blue', green: 'nic-bare' }).moveTraffic('green', say), /^network interface nic-bare \(GREEN_NIC\) has no ip configuration to attach pip-prod to$/);
  t.notOk(fake.requests.some((r) => r.startsWith('PUT')));
  t.equal(await through(), 'blue');
});

t.test('where the IP is cannot be read after a failure', async (t) => {
  const { fake, provider, say, failsWith, clock } = await setup(t, { holder: null });
  fake.outcomes.push('never');
  clock.onSleep = (count) => {
    if (count === 2) fake.failNext(1000, 403, 'AuthorizationFailed', 'No access.');
  };
  await failsWith(provider.moveTraffic('green', say), /^could not attach .*; where the public IP is now could not be read \(Azure refused GET network interface/);
});

t.test('no secret in anything said', async (t) => {
  const all = everythingSaid.join('\n');
  t.ok(all.length > 0);
  t.notMatch(all, SECRET);
  t.notMatch(all, /eyJfake/);
});
