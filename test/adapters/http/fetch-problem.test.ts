import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { describeFetchError, unreachable } from '../../../src/adapters/http/fetch-problem.js';

/** What `fetch(url)` threw. */
async function thrown(url: string, timeoutMs = 2000): Promise<unknown> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return error;
  }
  throw new Error(`fetch ${url} did not fail`);
}

async function listen(t: Test, server: http.Server | https.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

t.test('connection refused', async (t) => {
  const probe = net.createServer();
  const port = await listen(t, probe);
  await new Promise((resolve) => probe.close(resolve));
  const url = `http://127.0.0.1:${port}/x`;
  const error = await thrown(url);
  t.equal(describeFetchError(error, 2000), 'connection refused');
  t.equal(unreachable(url, error, 2000), `could not reach 127.0.0.1:${port} (connection refused)`);
});

t.test('no answer in time', async (t) => {
  const port = await listen(t, http.createServer(() => undefined));
  const error = await thrown(`http://127.0.0.1:${port}/`, 50);
  t.equal(describeFetchError(error, 50), 'timed out after 50 ms');
});

t.test('a connection dropped without an answer', async (t) => {
  const port = await listen(t, http.createServer((req) => req.socket.destroy()));
  const error = await thrown(`http://127.0.0.1:${port}/`);
  t.equal(describeFetchError(error, 2000), 'connection closed without an answer');
});

t.test('TLS: https to a plain HTTP server', async (t) => {
  const port = await listen(t, http.createServer((_req, res) => res.end('plain')));
  const url = `https://127.0.0.1:${port}/`;
  const error = await thrown(url);
  t.equal(unreachable(url, error, 2000), `could not reach 127.0.0.1:${port} (TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER: wrong version number))`);
});

t.test('TLS: a certificate nobody vouches for', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  const port = await listen(t, https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (_req, res) => res.end('tls')));
  const error = await thrown(`https://127.0.0.1:${port}/`);
  t.equal(describeFetchError(error, 2000), 'TLS handshake failed (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate)');
});

t.test('DNS and other causes, in the shape Node gives them', async (t) => {
  const failed = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause });
  t.equal(describeFetchError(failed({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND api.example' }), 1), 'host name not found (DNS: ENOTFOUND)');
  t.equal(
    unreachable('https://api.example:8443/v2', failed({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND api.example' }), 1),
    'could not reach api.example:8443 (host name not found (DNS: ENOTFOUND))',
  );
  t.equal(describeFetchError(failed({ code: 'EAI_AGAIN' }), 1), 'host name could not be looked up now (DNS: EAI_AGAIN)');
  t.equal(describeFetchError(failed({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }), 1), 'TLS handshake failed (CERT_HAS_EXPIRED: certificate has expired)');
  t.equal(describeFetchError(failed({ errors: [{}, { code: 'ECONNREFUSED' }] }), 1), 'connection refused', 'AggregateError of several addresses');
  t.equal(describeFetchError(failed({ code: 'EWHATEVER', message: 'odd thing' }), 1), 'EWHATEVER (odd thing)');
  t.equal(describeFetchError(failed({ message: 'bad port' }), 1), 'fetch failed (bad port)');
});
