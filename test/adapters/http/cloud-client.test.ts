import net from 'node:net';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { type BearerTokens, type CloudClientOptions, cloudTiming, createCloudClient } from '../../../src/adapters/http/cloud-client.js';
import { UserError } from '../../../src/core/errors.js';
import { virtualClock } from '../../fakes/clock.js';
import { type Step, startScriptedApi } from '../../fakes/scripted-api.js';
import { rejectsWithUserError } from '../../helpers/user-error.js';

const SECRET = 'the-client-secret-0123456789';

/** A client for a scripted API, on a virtual clock (1 s poll interval, 60 s deadline unless told). */
async function setup(t: Test, steps: Step[], options: Partial<CloudClientOptions> & { deadlineMs?: number } = {}) {
  const api = await startScriptedApi(steps);
  t.teardown(() => api.close());
  const clock = virtualClock();
  const client = createCloudClient({
    service: 'Cloud',
    baseUrl: `${api.url}/api`,
    urlVariable: 'CLOUD_API_URL',
    statusPage: 'https://status.cloud.example',
    console: 'the Cloud console',
    secrets: [[SECRET, 'CLOUD_SECRET']],
    errorOf: (body) => ({ code: body?.error?.code, message: body?.error?.message }),
    refusal: (answer, { label, path }) => new UserError(`Cloud refused ${label} (${path}): HTTP ${answer.status} ${answer.code ?? '-'}: ${answer.message}`, { hint: 'fix it' }),
    timing: cloudTiming({ pollIntervalMs: 1000, deadlineMs: options.deadlineMs ?? 60_000, requestTimeoutMs: 200, sleep: clock.sleep, now: clock.now }, {
      pollIntervalMs: 0,
      deadlineMs: 0,
      requestTimeoutMs: 0,
    }),
    ...options,
  });
  const fails = (promise: Promise<unknown>, message: RegExp, hint?: RegExp) => rejectsWithUserError(t, promise, { message, hint, secrets: [SECRET, /tok-/] });
  return { api, clock, client, fails };
}

const ok = (body: unknown = { ok: true }, headers: Record<string, string> = {}): Step => ({ status: 200, body, headers });
const armError = (status: number, code: string, message: string, headers: Record<string, string> = {}): Step => ({ status, body: { error: { code, message } }, headers });

t.test('2xx: the JSON body, with the path appended to the base URL and the JSON request body sent', async (t) => {
  const { api, client } = await setup(t, [ok({ name: 'x' })]);
  const answer = await client.request({ method: 'PUT', url: '/things/x?v=1', json: { a: 1 } });
  t.same(answer.body, { name: 'x' });
  t.equal(answer.status, 200);
  t.match(api.requests[0], { method: 'PUT', url: '/api/things/x?v=1', contentType: 'application/json', body: '{"a":1}' });
});

t.test('Retry-After in seconds is honoured', async (t) => {
  const { api, clock, client } = await setup(t, [armError(503, 'Unavailable', 'later', { 'retry-after': '7' }), ok()]);
  t.same((await client.request({ method: 'GET', url: '/x' })).body, { ok: true });
  t.same(clock.slept, [7000]);
  t.equal(api.requests.length, 2);
});

t.test('Retry-After as an HTTP date is honoured', async (t) => {
  const clock = virtualClock();
  const at = new Date(clock.now() + 12_000).toUTCString();
  const { clock: used, client } = await setup(t, [armError(429, 'TooManyRequests', 'slow down', { 'retry-after': at }), ok()]);
  await client.request({ method: 'GET', url: '/x' });
  t.same(used.slept, [12_000]);
});

t.test('429 without Retry-After: waits until ratelimit-reset (DigitalOcean)', async (t) => {
  const clock = virtualClock();
  const reset = String(Math.floor(clock.now() / 1000) + 30);
  const { clock: used, client } = await setup(t, [armError(429, 'too_many_requests', 'API Rate limit exceeded.', { 'ratelimit-reset': reset }), ok()]);
  await client.request({ method: 'GET', url: '/x' });
  t.same(used.slept, [30_000]);
});

t.test('ratelimit-reset on a 5xx is not a reason to wait: exponential backoff instead', async (t) => {
  const clock = virtualClock();
  const reset = String(Math.floor(clock.now() / 1000) + 3000);
  const failing = armError(500, 'Oops', 'boom', { 'ratelimit-reset': reset });
  const { clock: used, client } = await setup(t, [failing, failing, failing, ok()]);
  await client.request({ method: 'GET', url: '/x' });
  t.same(used.slept, [1000, 2000, 4000]);
});

t.test('429 then success', async (t) => {
  const { api, clock, client } = await setup(t, [armError(429, 'TooManyRequests', 'slow down'), ok({ done: 1 })]);
  t.same((await client.request({ method: 'GET', url: '/x' })).body, { done: 1 });
  t.same(clock.slept, [1000]);
  t.equal(api.requests.length, 2);
});

t.test('5xx until the deadline: a clear error saying how many tries and what the last answer was', async (t) => {
  const { client, fails } = await setup(t, [armError(503, 'ServiceUnavailable', 'down for maintenance')], { deadlineMs: 10_000 });
  await fails(
    client.request({ method: 'GET', url: '/x' }),
    /^gave up on Cloud GET \/x after 4 tries: HTTP 503 ServiceUnavailable: down for maintenance$/,
    /^Cloud is busy or failing; try again in a few minutes \(https:\/\/status\.cloud\.example\)$/,
  );
});

t.test('retries are bounded by maxAttempts too', async (t) => {
  const { api, client, fails } = await setup(t, [{ status: 502, body: 'Bad Gateway' }], { maxAttempts: 2, deadlineMs: 3_600_000 });
  await fails(client.request({ method: 'GET', url: '/x', what: 'thing x' }), /^gave up on GET thing x after 2 tries: HTTP 502: Bad Gateway$/);
  t.equal(api.requests.length, 2);
});

t.test('a server asking to wait past the deadline: given up at once', async (t) => {
  const { api, clock, client, fails } = await setup(t, [armError(429, 'TooManyRequests', 'slow down', { 'retry-after': '120' })]);
  await fails(client.request({ method: 'GET', url: '/x' }), /^gave up on Cloud GET \/x after 1 try: HTTP 429 TooManyRequests: slow down$/);
  t.same(clock.slept, []);
  t.equal(api.requests.length, 1);
});

t.test('busy answers are retried; other 4xx are refused at once', async (t) => {
  const busy = armError(409, 'AnotherOperationInProgress', 'busy', { 'retry-after': '3' });
  const { clock, client } = await setup(t, [busy, ok()], { busy: (answer) => answer.code === 'AnotherOperationInProgress' });
  await client.request({ method: 'PUT', url: '/x', json: {} });
  t.same(clock.slept, [3000]);

  const refused = await setup(t, [armError(409, 'Conflict', 'no')], { busy: (answer) => answer.code === 'AnotherOperationInProgress' });
  await refused.fails(refused.client.request({ method: 'PUT', url: '/x', json: {}, what: 'thing x' }), /^Cloud refused PUT thing x \(\/api\/x\): HTTP 409 Conflict: no$/, /fix it/);
  t.equal(refused.api.requests.length, 1);
});

t.test('statuses in `pass` are answered to the caller', async (t) => {
  const { client } = await setup(t, [armError(404, 'NotFound', 'gone')]);
  const answer = await client.request({ method: 'GET', url: '/x', pass: [404] });
  t.match(answer, { status: 404, code: 'NotFound', message: 'gone' });
});

t.test('a non-JSON error body: its start is the message', async (t) => {
  const { client, fails } = await setup(t, [{ status: 400, body: '<html>Bad Request</html>\nmore' }]);
  await fails(client.request({ method: 'GET', url: '/x' }), /^Cloud refused Cloud GET \/x \(\/api\/x\): HTTP 400 -: <html>Bad Request<\/html>$/);
});

t.test('network errors', async (t) => {
  t.test('connection refused: retried, then a sentence naming the host', async (t) => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { clock, client, fails } = await setup(t, [ok()], { baseUrl: `http://127.0.0.1:${port}`, deadlineMs: 5000 });
    await fails(
      client.request({ method: 'GET', url: '/x' }),
      new RegExp(`^gave up on Cloud GET /x after 3 tries: could not reach 127\\.0\\.0\\.1:${port} \\(connection refused\\)$`),
      /^check the network \(and CLOUD_API_URL if set\), then try again$/,
    );
    t.same(clock.slept, [1000, 2000]);
  });
  t.test('no answer: timed out, retried', async (t) => {
    const { api, client } = await setup(t, ['hang', ok({ second: true })]);
    t.same((await client.request({ method: 'GET', url: '/x' })).body, { second: true });
    t.equal(api.requests.length, 2);
  });
  t.test('no answer until the deadline', async (t) => {
    const { client, fails } = await setup(t, ['hang'], { deadlineMs: 0 });
    await fails(client.request({ method: 'GET', url: '/x' }), /^gave up on Cloud GET \/x after 1 try: could not reach 127\.0\.0\.1:\d+ \(timed out after 200 ms\)$/);
  });
  t.test('a streamed upload that is never answered ends at the deadline too', async (t) => {
    const { client, fails } = await setup(t, ['hang'], { deadlineMs: 300 });
    const upload = client.request({ method: 'POST', url: '/zip', stream: { open: () => Readable.from([Buffer.from('zip bytes')]), contentType: 'application/zip' } });
    await fails(upload, /^gave up on Cloud POST \/zip after 1 try: could not reach 127\.0\.0\.1:\d+ \(timed out after 200 ms\)$/);
  });
  t.test('a dropped connection is retried', async (t) => {
    const { api, client } = await setup(t, ['close', ok()]);
    await client.request({ method: 'GET', url: '/x' });
    t.equal(api.requests.length, 2);
  });
});

t.test('bearer tokens', async (t) => {
  /** Tokens tok-1, tok-2, …; the API accepts only the current one. */
  function rotating(): BearerTokens & { issued: number } {
    const source = {
      issued: 1,
      token: async () => `tok-${source.issued}`,
      invalidate: () => {
        source.issued += 1;
      },
    };
    return source;
  }
  t.test('a 401 renews the token once and the call goes through', async (t) => {
    const tokens = rotating();
    const { api, client, clock } = await setup(t, [armError(401, 'ExpiredAuthenticationToken', 'The access token expired.'), ok()], { tokens });
    t.same((await client.request({ method: 'GET', url: '/x' })).body, { ok: true });
    t.same(
      api.requests.map((r) => r.authorization),
      ['Bearer tok-1', 'Bearer tok-2'],
    );
    t.same(clock.slept, [], 'no wait before the renewed try');
  });
  t.test('a second 401 is final', async (t) => {
    const tokens = rotating();
    const { api, client, fails } = await setup(t, [armError(401, 'InvalidAuthenticationToken', 'The access token tok-1 is invalid.')], { tokens });
    await fails(client.request({ method: 'GET', url: '/x' }), /^Cloud refused Cloud GET \/x \(\/api\/x\): HTTP 401 InvalidAuthenticationToken: The access token \[access token\] is invalid\.$/);
    t.equal(api.requests.length, 2);
    t.equal(tokens.issued, 2);
  });
  t.test('a token source that fails: its error, at once, and no request', async (t) => {
    const signInFailed = new UserError('sign-in failed: wrong secret');
    const { api, client, clock } = await setup(t, [ok()], { tokens: { token: async () => Promise.reject(signInFailed) } });
    await t.rejects(client.request({ method: 'GET', url: '/x' }), signInFailed);
    t.equal(api.requests.length, 0);
    t.same(clock.slept, []);
  });
  t.test('a token that cannot be renewed: the first 401 is final', async (t) => {
    const { api, client, fails } = await setup(t, [armError(401, 'unauthorized', 'Unable to authenticate you')], { tokens: { token: async () => 'tok-static' } });
    await fails(client.request({ method: 'GET', url: '/x' }), /HTTP 401 unauthorized: Unable to authenticate you$/);
    t.equal(api.requests.length, 1);
  });
});

t.test('secrets in an answer never reach a message', async (t) => {
  const { client, fails } = await setup(t, [armError(400, 'Bad', `secret ${SECRET} token tok-9\nsecond line`)], { tokens: { token: async () => 'tok-9' } });
  await fails(client.request({ method: 'GET', url: '/x' }), /: HTTP 400 Bad: secret \[CLOUD_SECRET\] token \[access token\]$/);
});

t.test('a URL outside the base origin gets no request (and no credentials)', async (t) => {
  const { api, client, fails } = await setup(t, [ok()], { tokens: { token: async () => 'tok-1' } });
  await fails(
    client.request({ method: 'GET', url: 'http://127.0.0.2:9/steal', what: 'the update of thing x' }),
    /^Cloud asked to follow the update of thing x at http:\/\/127\.0\.0\.2:9, outside http:\/\/127\.0\.0\.1:\d+; not sending credentials there$/,
    /^check CLOUD_API_URL$/,
  );
  t.equal(api.requests.length, 0);
});

t.test('long-running operations', async (t) => {
  const started = (api: { url: string }, headers: (url: string) => Record<string, string>): Step => ({ status: 201, body: { id: 'x' }, headers: headers(api.url) });

  t.test('Azure-AsyncOperation polled until Succeeded, waiting as Retry-After says', async (t) => {
    const s = await setup(t, []);
    s.api.routes['/api/things'] = [started(s.api, (url) => ({ 'azure-asyncoperation': `${url}/api/ops/1`, 'retry-after': '4' }))];
    s.api.routes['/api/ops/1'] = [ok({ status: 'InProgress' }, { 'retry-after': '6' }), ok({ status: 'InProgress' }), ok({ status: 'Succeeded' })];
    const first = await s.client.request({ method: 'PUT', url: '/things/x', json: {} });
    const last = await s.client.followOperation(first, { label: 'the update of thing x', deadline: s.client.deadline() });
    t.same(last.body, { status: 'Succeeded' });
    t.same(s.clock.slept, [4000, 6000, 1000]);
  });

  t.test('Failed: an error quoting the service', async (t) => {
    const s = await setup(t, []);
    s.api.routes['/api/things'] = [started(s.api, (url) => ({ 'azure-asyncoperation': `${url}/api/ops/2` }))];
    s.api.routes['/api/ops/2'] = [ok({ status: 'Failed', error: { code: 'InternalServerError', message: `The backend did not answer (${SECRET}).` } })];
    const first = await s.client.request({ method: 'PUT', url: '/things/x', json: {} });
    await s.fails(
      s.client.followOperation(first, { label: 'the update of thing x', deadline: s.client.deadline() }),
      /^Cloud reports the update of thing x Failed: InternalServerError: The backend did not answer \(\[CLOUD_SECRET\]\)\.$/,
      /^see the resource in the Cloud console for details$/,
    );
  });

  t.test('Canceled', async (t) => {
    const s = await setup(t, []);
    s.api.routes['/api/things'] = [started(s.api, (url) => ({ 'azure-asyncoperation': `${url}/api/ops/3` }))];
    s.api.routes['/api/ops/3'] = [ok({ status: 'Canceled' })];
    const first = await s.client.request({ method: 'PUT', url: '/things/x', json: {} });
    await s.fails(s.client.followOperation(first, { label: 'the update of thing x', deadline: s.client.deadline() }), /^Cloud reports the update of thing x Canceled$/);
  });

  t.test('Location: polled while 202', async (t) => {
    const s = await setup(t, []);
    s.api.routes['/api/things'] = [{ status: 202, headers: { location: `${s.api.url}/api/results/4`, 'retry-after': '2' } }];
    s.api.routes['/api/results/4'] = [{ status: 202, headers: { 'retry-after': '2' } }, { status: 200, body: { result: 'done' } }];
    const first = await s.client.request({ method: 'POST', url: '/things/x' });
    const last = await s.client.followOperation(first, { label: 'the swap', deadline: s.client.deadline() });
    t.same(last.body, { result: 'done' });
    t.same(s.clock.slept, [2000, 2000]);
    t.equal(s.api.requests.length, 3);
  });

  t.test('no operation header: nothing to follow', async (t) => {
    const s = await setup(t, [ok({ plain: true })]);
    const first = await s.client.request({ method: 'PUT', url: '/things/x', json: {} });
    t.equal(await s.client.followOperation(first, { label: 'x', deadline: s.client.deadline() }), first);
    t.equal(s.api.requests.length, 1);
  });

  t.test('never ending: gives up at the deadline saying it may still finish', async (t) => {
    const s = await setup(t, [], { deadlineMs: 30_000 });
    s.api.routes['/api/things'] = [started(s.api, (url) => ({ 'azure-asyncoperation': `${url}/api/ops/5` }))];
    s.api.routes['/api/ops/5'] = [ok({ status: 'InProgress' }, { 'retry-after': '10' })];
    const first = await s.client.request({ method: 'PUT', url: '/things/x', json: {} });
    await s.fails(
      s.client.followOperation(first, { label: 'the update of thing x', deadline: s.client.deadline() }),
      /^the update of thing x did not finish in time \(operation status: InProgress\)$/,
      /^it may still finish: see the resource in the Cloud console before trying again$/,
    );
  });
});

t.test('poll: looks until done, or the error the caller chose at the deadline', async (t) => {
  const { client, clock } = await setup(t, [], { deadlineMs: 10_000 });
  let looks = 0;
  const value = await client.poll({
    label: 'the thing',
    deadline: client.deadline(),
    look: async () => (++looks === 3 ? { done: true, value: 'ready' } : { done: false, waitMs: looks * 1500 }),
  });
  t.equal(value, 'ready');
  t.same(clock.slept, [1500, 3000]);
  await t.rejects(
    client.poll({
      label: 'the thing',
      deadline: client.deadline(),
      look: async () => ({ done: false }),
      timedOut: async () => new UserError('still not ready'),
    }),
    { message: 'still not ready' },
  );
});
