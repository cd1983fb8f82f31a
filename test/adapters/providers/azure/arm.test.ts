import t, { type Test } from 'tap';
import { createArmClient } from '../../../../src/adapters/providers/azure/arm.js';
import { createAzureTokenSource } from '../../../../src/adapters/providers/azure/token.js';
import type { AzureCredentials } from '../../../../src/core/config.js';
import { virtualClock } from '../../../fakes/clock.js';
import { appGateway, startFakeAzure } from '../../../fakes/azure-api.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

const SECRET = 'Zq8~client-secret-value-0123456789';
const IDS = { tenantId: 'tenant-1', clientId: 'client-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };

async function setup(t: Test, options: { tokenLifetimeS?: number; secret?: string; deadlineMs?: number } = {}) {
  const clock = virtualClock();
  const fake = await startFakeAzure({
    ...IDS,
    clientSecret: SECRET,
    tokenLifetimeS: options.tokenLifetimeS,
    now: clock.now,
    gateways: { gw: appGateway(IDS.subscriptionId, IDS.resourceGroup, 'gw', ['blue-pool', 'green-pool'], [{ name: 'main', pool: 'blue-pool' }]) },
  });
  t.teardown(() => fake.close());
  const azure: AzureCredentials = { ...IDS, clientSecret: options.secret ?? SECRET, armUrl: fake.url, authorityUrl: fake.url };
  const timing = { pollIntervalMs: 1000, deadlineMs: options.deadlineMs ?? 600_000, ...clock };
  const tokens = createAzureTokenSource(azure, timing);
  const arm = createArmClient(azure, { ...timing, tokens });
  const path = arm.networkPath('applicationGateways', 'gw');
  const what = 'application gateway gw';
  /** Asserts a UserError matching `message`, with no secret or token in it. */
  const fails = (promise: Promise<unknown>, message: RegExp, hint?: RegExp) =>
    rejectsWithUserError(t, promise, { message, hint, secrets: [SECRET, /eyJfake/] });
  return { clock, fake, azure, tokens, arm, path, what, fails };
}

t.test('ARM errors become clear messages', async (t) => {
  t.test('404', async (t) => {
    const { arm, fails } = await setup(t);
    await fails(
      arm.get(arm.networkPath('applicationGateways', 'nope'), '2024-05-01', 'application gateway nope (AZURE_APP_GATEWAY)'),
      /^application gateway nope \(AZURE_APP_GATEWAY\) does not exist \(404 ResourceNotFound: The Resource 'Microsoft.Network\/applicationGateways\/nope' under resource group 'rg-1' was not found\.\)$/,
      /AZURE_RESOURCE_GROUP/,
    );
  });
  t.test('403', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    fake.failNext(1, 403, 'AuthorizationFailed', 'The client does not have authorization to perform action.');
    await fails(arm.get(path, '2024-05-01', what), /^Azure refused GET application gateway gw \(403 AuthorizationFailed: The client does not have authorization/, /Network Contributor/);
  });
  t.test('400', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    fake.failNext(1, 400, 'InvalidRequestFormat', 'Cannot parse the request.');
    await fails(arm.put(path, '2024-05-01', {}, what), /^Azure refused PUT application gateway gw \(400 InvalidRequestFormat: Cannot parse the request\.\)$/, /Activity log/);
  });
  t.test('a message quoting the token or the secret is redacted', async (t) => {
    const { fake, arm, path, what, fails, tokens } = await setup(t);
    const token = await tokens.token();
    fake.failNext(1, 400, 'BadRequest', `token ${token} secret ${SECRET}`);
    await fails(arm.get(path, '2024-05-01', what), /\(400 BadRequest: token \[access token\] secret \[AZURE_CLIENT_SECRET\]\)$/);
  });
  t.test('401 twice', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    fake.failNext(2, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    await fails(arm.get(path, '2024-05-01', what), /^Azure refused GET application gateway gw \(401 InvalidAuthenticationToken/);
  });
});

t.test('429, 409 busy and 5xx are retried honouring Retry-After', async (t) => {
  const { fake, clock, arm, path, what } = await setup(t);
  fake.throttleNext(2, '17');
  t.equal((await arm.get(path, '2024-05-01', what)).name, 'gw');
  t.same(clock.slept, [17_000, 17_000]);
  clock.slept.length = 0;
  fake.busyNext(1);
  const gw = await arm.get(path, '2024-05-01', what);
  await arm.put(path, '2024-05-01', gw, what);
  t.equal(clock.slept[0], 3000, 'busy: Retry-After 3');
  clock.slept.length = 0;
  fake.busyNext(1, 'RetryableErrorDueToAnotherOperation', 429);
  await arm.put(path, '2024-05-01', gw, what);
  t.equal(clock.slept[0], 3000);
  clock.slept.length = 0;
  fake.failNext(2, 503, 'ServiceUnavailable');
  await arm.get(path, '2024-05-01', what);
  t.same(clock.slept, [1000, 2000], 'backoff without Retry-After');
});

t.test('retries end at the deadline with a message saying why', async (t) => {
  const { fake, arm, path, what, fails } = await setup(t, { deadlineMs: 30_000 });
  fake.busyNext(100);
  const gw = await arm.get(path, '2024-05-01', what);
  await fails(arm.put(path, '2024-05-01', gw, what), /^gave up on PUT application gateway gw after 11 tries: HTTP 409 AnotherOperationInProgress: Operation on gw cannot proceed: another operation is in progress\.$/, /try again/);
  fake.busyNext(0);
  fake.throttleNext(1, '60');
  await fails(arm.get(path, '2024-05-01', what), /^gave up on GET application gateway gw after 1 try: HTTP 429 TooManyRequests: Too many requests\.$/);
});

t.test('network failures are retried, then reported', async (t) => {
  const { fake, arm, path, what, fails, tokens } = await setup(t, { deadlineMs: 5000 });
  await tokens.token();
  await fake.close();
  await fails(arm.get(path, '2024-05-01', what), /^gave up on GET application gateway gw after 3 tries: could not reach 127\.0\.0\.1:\d+ \(connection refused\)$/, /check the network \(and AZURE_ARM_URL if set\)/);
});

t.test('long-running operations', async (t) => {
  t.test('Azure-AsyncOperation until Succeeded', async (t) => {
    const { fake, clock, arm, path, what } = await setup(t);
    const gw = await arm.get(path, '2024-05-01', what);
    gw.tags = { touched: 'yes' };
    const after = await arm.put(path, '2024-05-01', gw, what);
    t.same(after.tags, { touched: 'yes' });
    t.equal(after.properties.provisioningState, 'Succeeded');
    t.same(clock.slept, [10_000, 10_000, 10_000], 'Retry-After honoured between polls');
    t.equal(fake.requests.filter((r) => r.includes('/operations/')).length, 3);
  });
  t.test('Location until not 202', async (t) => {
    const { fake, arm, path, what } = await setup(t);
    fake.lroStyle = 'location';
    const gw = await arm.get(path, '2024-05-01', what);
    gw.tags = { style: 'location' };
    t.same((await arm.put(path, '2024-05-01', gw, what)).tags, { style: 'location' });
    t.equal(fake.requests.filter((r) => r.includes('/operationResults/')).length, 3);
  });
  t.test('200 with provisioningState Updating: the resource is read until Succeeded or Failed', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    fake.lroStyle = 'state';
    const gw = await arm.get(path, '2024-05-01', what);
    gw.tags = { style: 'state' };
    t.same((await arm.put(path, '2024-05-01', gw, what)).tags, { style: 'state' });
    fake.outcomes.push('Failed');
    await fails(arm.put(path, '2024-05-01', gw, what), /^Azure reports application gateway gw in provisioning state Failed after the update$/, /Activity log/);
  });
  t.test('Failed and Canceled', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    const gw = await arm.get(path, '2024-05-01', what);
    fake.outcomes.push('Failed', 'Canceled');
    await fails(
      arm.put(path, '2024-05-01', gw, what),
      /^Azure reports the update of application gateway gw Failed: InternalServerError: The operation failed: the backend did not answer\.$/,
      /Activity log/,
    );
    await fails(arm.put(path, '2024-05-01', gw, what), /^Azure reports the update of application gateway gw Canceled: OperationCanceled: /);
  });
  t.test('never ending: gives up at the deadline', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t, { deadlineMs: 60_000 });
    const gw = await arm.get(path, '2024-05-01', what);
    fake.outcomes.push('never');
    await fails(arm.put(path, '2024-05-01', gw, what), /^the update of application gateway gw did not finish in time \(operation status: InProgress\)$/, /may still finish/);
  });
  t.test('never ending, Location style', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t, { deadlineMs: 60_000 });
    fake.lroStyle = 'location';
    const gw = await arm.get(path, '2024-05-01', what);
    fake.outcomes.push('never');
    await fails(arm.put(path, '2024-05-01', gw, what), /^the update of application gateway gw did not finish in time \(operation status: still 202 Accepted\)$/);
  });
  t.test('a polling URL outside AZURE_ARM_URL gets no token', async (t) => {
    const { fake, arm, path, what, fails } = await setup(t);
    fake.pollOrigin = 'http://127.0.0.2:9';
    const gw = await arm.get(path, '2024-05-01', what);
    await fails(
      arm.put(path, '2024-05-01', gw, what),
      /^Azure asked to follow the update of application gateway gw at http:\/\/127\.0\.0\.2:9, outside http:\/\/127\.0\.0\.1:\d+; not sending credentials there$/,
      /AZURE_ARM_URL/,
    );
  });
});
