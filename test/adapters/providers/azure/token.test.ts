import t, { type Test } from 'tap';
import { createArmClient } from '../../../../src/adapters/providers/azure/arm.js';
import { createAzureTokenSource } from '../../../../src/adapters/providers/azure/token.js';
import type { AzureCredentials } from '../../../../src/core/config.js';
import { virtualClock } from '../../../fakes/clock.js';
import { startScriptedApi } from '../../../fakes/scripted-api.js';
import { appGateway, startFakeAzure } from '../../../fakes/azure-api.js';
import { rejectsWithUserError } from '../../../helpers/user-error.js';

const SECRET = 'Zq8~client-secret-value-0123456789';
const IDS = { tenantId: 'tenant-1', clientId: 'client-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };

async function setup(t: Test, options: { tokenLifetimeS?: number; secret?: string; deadlineMs?: number } = {}) {
  const clock = virtualClock();
  /** How far Azure's clock runs ahead of ours. */
  const skew = { ms: 0 };
  const fake = await startFakeAzure({
    ...IDS,
    clientSecret: SECRET,
    tokenLifetimeS: options.tokenLifetimeS,
    now: () => clock.now() + skew.ms,
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
  return { clock, skew, fake, azure, tokens, arm, path, what, fails };
}

t.test('tokens are cached and renewed shortly before they expire', async (t) => {
  const { clock, fake, tokens, arm, path, what } = await setup(t, { tokenLifetimeS: 60 });
  const first = await tokens.token();
  t.equal(await tokens.token(), first, 'cached');
  t.equal(fake.tokensIssued(), 1);
  clock.advance(44_000);
  t.equal(await tokens.token(), first, 'still fresh at 44 s of 60');
  clock.advance(1_000);
  t.not(await tokens.token(), first, 'renewed a quarter of the lifetime before expiry');
  t.equal(fake.tokensIssued(), 2);
  // Long operations outlive tokens: ARM calls keep working across several renewals.
  for (let i = 0; i < 5; i++) {
    clock.advance(50_000);
    t.equal((await arm.get(path, '2024-05-01', what)).name, 'gw');
  }
  t.ok(fake.tokensIssued() >= 6);
  const [a, b] = await Promise.all([tokens.token(), tokens.token()]);
  t.equal(a, b, 'concurrent callers share one sign-in');
});

t.test('a token ARM rejects (revoked) is renewed once, transparently', async (t) => {
  const { fake, arm, path, what } = await setup(t);
  await arm.get(path, '2024-05-01', what);
  fake.revokeTokens();
  t.equal((await arm.get(path, '2024-05-01', what)).name, 'gw');
  t.equal(fake.tokensIssued(), 2);
});

t.test('a wrong client secret: a clear message that never shows the secret', async (t) => {
  const { tokens, fails } = await setup(t, { secret: 'wrong-secret-value-xyz' });
  const error = await fails(
    tokens.token(),
    /^Azure sign-in failed for client client-1 in tenant tenant-1: HTTP 401 invalid_client \(AADSTS7000215: Invalid client secret provided\. .*\)$/,
    /AZURE_CLIENT_SECRET/,
  );
  t.notMatch(error?.message, 'wrong-secret-value-xyz');
  t.equal(error?.exitCode, 2);
});

t.test('a wrong client secret stops an ARM call at once with the sign-in error', async (t) => {
  const { arm, path, what, fake, clock, fails } = await setup(t, { secret: 'wrong-secret-value-xyz' });
  await fails(arm.get(path, '2024-05-01', what), /^Azure sign-in failed for client client-1 in tenant tenant-1: HTTP 401 invalid_client/, /AZURE_CLIENT_SECRET/);
  t.same(clock.slept, [], 'no retries');
  t.notOk(fake.requests.some((r) => r.startsWith('GET')), 'ARM never called');
});

t.test('an unknown tenant', async (t) => {
  const { azure, fails } = await setup(t);
  const tokens = createAzureTokenSource({ ...azure, tenantId: 'nope' }, { sleep: async () => undefined });
  await fails(tokens.token(), /^Azure sign-in failed for client client-1 in tenant nope: HTTP 400 invalid_tenant \(AADSTS90002: Tenant not found\.\)$/);
});

t.test('sign-in endpoint unreachable', async (t) => {
  const { azure, fake, fails } = await setup(t);
  await fake.close();
  const tokens = createAzureTokenSource(azure, { sleep: async () => undefined });
  await fails(tokens.token(), /^gave up on POST http:\/\/127\.0\.0\.1:\d+\/tenant-1\/oauth2\/v2\.0\/token \(Azure sign-in\) after 3 tries: could not reach 127\.0\.0\.1:\d+ \(connection refused\)$/, /AZURE_AUTHORITY_URL/);
});


t.test('a token Azure says expired (its clock runs ahead) is renewed once on the 401', async (t) => {
  const { skew, fake, arm, path, what } = await setup(t, { tokenLifetimeS: 3600 });
  await arm.get(path, '2024-05-01', what);
  skew.ms = 3601_000; // our cached token still looks fresh to us
  t.equal((await arm.get(path, '2024-05-01', what)).name, 'gw');
  t.equal(fake.tokensIssued(), 2);
  t.ok(fake.requests.filter((r) => r.startsWith('GET')).length === 3, 'the expired try, then the renewed one');
});

t.test('sign-in answers 5xx: retried', async (t) => {
  const { azure, clock } = await setup(t);
  const api = await startScriptedApi([{ status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'retry-after': '2' } }, { status: 200, body: { access_token: 'eyJfake.x', expires_in: 3600 } }]);
  t.teardown(() => api.close());
  const tokens = createAzureTokenSource({ ...azure, authorityUrl: api.url }, { pollIntervalMs: 1000, ...clock });
  t.equal(await tokens.token(), 'eyJfake.x');
  t.same(clock.slept, [2000]);
  t.match(api.requests[1], { method: 'POST', url: '/tenant-1/oauth2/v2.0/token', contentType: 'application/x-www-form-urlencoded' });
});

t.test('sign-in answers 200 without a token', async (t) => {
  const { azure, fails } = await setup(t);
  const api = await startScriptedApi([{ status: 200, body: { token_type: 'Bearer' } }]);
  t.teardown(() => api.close());
  const tokens = createAzureTokenSource({ ...azure, authorityUrl: api.url }, { sleep: async () => undefined });
  await fails(tokens.token(), /^Azure sign-in failed for client client-1 in tenant tenant-1: HTTP 200 without an access token$/, /AZURE_CLIENT_SECRET/);
});
