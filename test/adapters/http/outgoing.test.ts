/** BLUEGREEN_CONNECT_TO: fetch reaches HOST1:PORT1 at HOST2:PORT2, and TLS still checks HOST1's name. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { describeFetchError } from '../../../src/adapters/http/fetch-problem.js';
import { findRoute, routeOutgoing } from '../../../src/adapters/http/outgoing.js';
import { makeTestCa } from '../../helpers/test-ca.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-outgoing-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ca = makeTestCa(dir, ['shop.example.test']);
const seen: string[] = [];
const secure = https.createServer({ cert: ca.cert, key: ca.key }, (req, res) => {
  seen.push(`${(req.socket as { servername?: string }).servername} ${req.headers.host}`);
  res.end('secure');
});
const plain = http.createServer((req, res) => res.end(`plain ${req.headers.host}`));
for (const server of [secure, plain]) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}
const portOf = (server: http.Server) => (server.address() as AddressInfo).port;
const rules = [
  { host: 'shop.example.test', port: 443, toHost: '127.0.0.1', toPort: portOf(secure) },
  { host: 'wrong.example.test', port: 443, toHost: '127.0.0.1', toPort: portOf(secure) },
  { host: 'plain.example.test', port: 80, toHost: '127.0.0.1', toPort: portOf(plain) },
];
routeOutgoing(rules, { extraCa: ca.ca });

t.test('a rule is found by name (any case, trailing dot) and port', async (t) => {
  t.equal(findRoute(rules, 'SHOP.example.test.', 443), rules[0]);
  t.equal(findRoute(rules, 'shop.example.test', 8443), undefined);
});

t.test('https to HOST1 connects to HOST2, sending and checking HOST1 (SNI and the certificate)', async (t) => {
  const response = await fetch('https://shop.example.test/');
  t.equal(await response.text(), 'secure');
  t.same(seen, ['shop.example.test shop.example.test']);
});

t.test('a certificate not for HOST1 is refused, though the socket reached the same server', async (t) => {
  const error = await fetch('https://wrong.example.test/').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(describeFetchError(error, 1000), /^TLS handshake failed \(ERR_TLS_CERT_ALTNAME_INVALID/);
});

t.test('plain http follows its rule too; hosts without a rule are untouched', async (t) => {
  t.equal(await (await fetch('http://plain.example.test/')).text(), 'plain plain.example.test');
  t.equal(await (await fetch(`http://127.0.0.1:${portOf(plain)}/`)).text(), `plain 127.0.0.1:${portOf(plain)}`);
});
