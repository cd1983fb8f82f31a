import { EventEmitter } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import t from 'tap';
import { listenOn } from '../../../src/adapters/http/listen.js';

const setting = { variable: 'BLUEGREEN_LISTEN', form: 'host:port' };

/** A server whose listen fails with `code` (what the kernel answers for a port below 1024 to a non-root user, say). */
function failingServer(code: string): net.Server {
  const server = new EventEmitter() as EventEmitter & { listen: () => void };
  server.listen = () => setImmediate(() => server.emit('error', Object.assign(new Error(code), { code })));
  return server as unknown as net.Server;
}

t.test('listening works, on the port asked or any free one', async (t) => {
  const server = http.createServer();
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await listenOn(server, { host: '127.0.0.1', port: 0 }, setting);
  t.ok(server.listening);
});

t.test('each failure names the variable and the fix, exit 2', async (t) => {
  const busy = http.createServer();
  await listenOn(busy, { host: '127.0.0.1', port: 0 }, setting);
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as net.AddressInfo).port;
  await t.rejects(listenOn(http.createServer(), { host: '127.0.0.1', port }, setting), {
    name: 'UserError',
    exitCode: 2,
    message: `cannot listen on 127.0.0.1:${port} (BLUEGREEN_LISTEN): the address is in use`,
    hint: 'stop whatever uses it, or set BLUEGREEN_LISTEN to another host:port',
  });
  await t.rejects(listenOn(http.createServer(), { host: '192.0.2.1', port: 7000 }, setting), {
    message: 'cannot listen on 192.0.2.1:7000 (BLUEGREEN_LISTEN): the address is not one of this machine',
    hint: 'set BLUEGREEN_LISTEN to an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its addresses)',
  });
  await t.rejects(listenOn(http.createServer(), { host: '2001:db8::1', port: 7000 }, setting), {
    message: 'cannot listen on [2001:db8::1]:7000 (BLUEGREEN_LISTEN): the address is not one of this machine',
  });
  await t.rejects(listenOn(http.createServer(), { host: 'no-such-host.invalid', port: 7000 }, setting), {
    exitCode: 2,
    message: /^cannot listen on no-such-host\.invalid:7000 \(BLUEGREEN_LISTEN\): the host name does not resolve$/,
    hint: 'set BLUEGREEN_LISTEN to an IP address of this machine',
  });
  await t.rejects(listenOn(failingServer('EACCES'), { host: '0.0.0.0', port: 80 }, setting), {
    exitCode: 2,
    message: 'cannot listen on 0.0.0.0:80 (BLUEGREEN_LISTEN): permission denied',
    hint: 'ports below 1024 need root: set BLUEGREEN_LISTEN to a port of 1024 or more',
  });
  await t.rejects(listenOn(failingServer('EMFILE'), { host: '0.0.0.0', port: 7000 }, setting), {
    exitCode: 2,
    message: 'cannot listen on 0.0.0.0:7000 (BLUEGREEN_LISTEN): EMFILE',
    hint: 'set BLUEGREEN_LISTEN to another host:port',
  });
});
