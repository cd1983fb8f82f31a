import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { checkHealth, readRevision } from '../../../src/adapters/http/checks.js';
import { UserError } from '../../../src/core/errors.js';
import { virtualClock } from '../../fakes/clock.js';

/** A server whose answers come from a list (the last one repeats). */
async function scripted(t: Test, answers: Array<number | 'hang' | 'close'>, body = 'ok') {
  const seen: string[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const answer = answers[Math.min(i++, answers.length - 1)];
    if (answer === 'hang') return; // never answers
    if (answer === 'close') return req.socket.destroy();
    if (answer === 301) res.setHeader('location', 'https://elsewhere.example/');
    res.statusCode = answer ?? 200;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/app/`, seen };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('healthy after three consecutive 2xx, counting again after a failure', async (t) => {
  const { url, seen } = await scripted(t, [200, 500, 200, 204, 200]);
  const clock = virtualClock();
  const result = await checkHealth(url, '/health', { intervalMs: 1000, deadlineMs: 60_000, ...clock });
  t.equal(result.ok, true);
  t.equal(result.attempts, 5);
  t.equal(result.url, url.replace(/\/$/, '') + '/health');
  t.same(seen, Array(5).fill('/app/health'));
  t.equal(result.summary, `${result.url}: 3 consecutive 2xx`);
  t.same(clock.slept, [1000, 1000, 1000, 1000]);
});

t.test('unhealthy: says the status that failed and stops at the deadline', async (t) => {
  const { url } = await scripted(t, [503]);
  const clock = virtualClock();
  const result = await checkHealth(url, '/', { intervalMs: 1000, deadlineMs: 5000, ...clock });
  t.equal(result.ok, false);
  t.equal(result.lastFailure, 'HTTP 503');
  t.equal(result.attempts, 6); // at 0, 1, 2, 3, 4 and 5 s
  t.match(result.summary, /HTTP 503 \(needed 3 consecutive 2xx; 6 tries in 5 s\)/);
});

t.test('a redirect is not healthy, and says where it points', async (t) => {
  const { url } = await scripted(t, [301]);
  const result = await checkHealth(url, '/', { consecutive: 1, deadlineMs: 0, ...virtualClock() });
  t.equal(result.lastFailure, 'HTTP 301 (redirect to https://elsewhere.example/)');
});

t.test('connection refused', async (t) => {
  const port = await freePort();
  const result = await checkHealth(`http://127.0.0.1:${port}`, '/', { deadlineMs: 2000, intervalMs: 1000, ...virtualClock() });
  t.equal(result.ok, false);
  t.equal(result.lastFailure, 'connection refused');
  t.match(result.summary, /connection refused/);
});

t.test('timeout', async (t) => {
  const { url } = await scripted(t, ['hang']);
  const result = await checkHealth(url, '/', { deadlineMs: 0, requestTimeoutMs: 50, ...virtualClock() });
  t.equal(result.lastFailure, 'timed out after 50 ms');
});

t.test('a connection closed without an answer', async (t) => {
  const { url } = await scripted(t, ['close']);
  const result = await checkHealth(url, '/', { deadlineMs: 0, ...virtualClock() });
  t.equal(result.lastFailure, 'connection closed without an answer');
});

t.test('an address that is not http', async (t) => {
  const result = await checkHealth('ftp://127.0.0.1', '/', { deadlineMs: 0, ...virtualClock() });
  t.equal(result.ok, false);
  t.match(result.lastFailure, /fetch failed/);
});

t.test('too few 2xx in a row before the deadline', async (t) => {
  const { url } = await scripted(t, [200]);
  const result = await checkHealth(url, '/', { consecutive: 3, deadlineMs: 1000, intervalMs: 1000, ...virtualClock() });
  t.equal(result.ok, false);
  t.match(result.summary, /no failure, but too few 2xx in a row/);
});

t.test('readRevision', async (t) => {
  const sha = 'a'.repeat(40);
  t.test('reads and trims the sha', async (t) => {
    const { url, seen } = await scripted(t, [200], `${sha}\n`);
    t.equal(await readRevision(url), sha);
    t.same(seen, ['/app/REVISION']);
  });
  t.test('not a sha', async (t) => {
    const { url } = await scripted(t, [200], '<html>welcome</html>');
    await t.rejects(readRevision(url), {
      constructor: UserError,
      message: `${url}REVISION does not hold a commit sha (40 hex digits): got "<html>welcome</html>"`,
    });
  });
  t.test('a long non-sha is cut short', async (t) => {
    const { url } = await scripted(t, [200], 'x'.repeat(100));
    await t.rejects(readRevision(url), { message: /got "x{60}…"$/ });
  });
  t.test('HTTP error', async (t) => {
    const { url } = await scripted(t, [404]);
    await t.rejects(readRevision(url), { message: `could not read the revision at ${url}REVISION: HTTP 404`, hint: /deployed/ });
  });
  t.test('connection refused', async (t) => {
    const port = await freePort();
    await t.rejects(readRevision(`http://127.0.0.1:${port}`), { message: /: connection refused$/, hint: /BLUE_URL/ });
  });
  t.test('timeout', async (t) => {
    const { url } = await scripted(t, ['hang']);
    await t.rejects(readRevision(url, { timeoutMs: 50 }), { message: /: timed out after 50 ms$/ });
  });
});
