/**
 * Where every outgoing HTTP(S) request of the product connects (BLUEGREEN_CONNECT_TO): the cloud clients, the
 * checks, Azure sign-in and Kudu all use the global `fetch`, so one global dispatcher reroutes them all. A
 * request to HOST1:PORT1 opens its socket to HOST2:PORT2, while TLS still sends and verifies HOST1's name
 * (SNI and the certificate check), as curl's `--connect-to` does. Node 20 does not export undici's Agent, so
 * the class is taken from the dispatcher Node's own fetch installed; no second HTTP stack is loaded.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectTo } from '../../core/config/types.js';

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const CONNECT_TIMEOUT_MS = 10_000;

interface ConnectOptions {
  hostname: string;
  protocol: string;
  port: string;
  servername?: string;
}
type Connected = (error: Error | null, socket: net.Socket | null) => void;
type AgentClass = new (options: { connect: (options: ConnectOptions, callback: Connected) => void }) => object;

function agentClass(): AgentClass {
  void new Headers(); // loads Node's fetch, which installs its global Agent
  const current = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] as { constructor: AgentClass } | undefined;
  if (!current) throw new Error("Node's fetch installed no global dispatcher");
  return current.constructor;
}

/** The rule for `host:port`, if any. */
export function findRoute(rules: readonly ConnectTo[], host: string, port: number): ConnectTo | undefined {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return rules.find((rule) => rule.host === name.replace(/\.$/, '') && rule.port === port);
}

/**
 * Sends every later `fetch` of this process through `rules`. `extraCa` (PEM) is trusted besides the system's
 * (and NODE_EXTRA_CA_CERTS'): for a process that could not be started with the variable (a test's own).
 * Without rules and CA nothing changes.
 */
export function routeOutgoing(rules: readonly ConnectTo[], options: { extraCa?: string } = {}): void {
  if (rules.length === 0 && options.extraCa === undefined) return;
  const ca = options.extraCa === undefined ? undefined : [...tls.rootCertificates, options.extraCa];
  const Agent = agentClass();
  const connect = (opts: ConnectOptions, callback: Connected) => {
    const secure = opts.protocol === 'https:';
    const hostname = opts.hostname.replace(/^\[|\]$/g, '');
    const port = Number(opts.port) || (secure ? 443 : 80);
    const route = findRoute(rules, hostname, port);
    const host = route?.toHost ?? hostname;
    const toPort = route?.toPort ?? port;
    const servername = opts.servername || (net.isIP(hostname) ? undefined : hostname);
    const socket = secure ? tls.connect({ host, port: toPort, servername, ca, ALPNProtocols: ['http/1.1'] }) : net.connect({ host, port: toPort });
    let done = false;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      socket.setTimeout(0);
      socket.removeListener('error', finish);
      if (error) {
        socket.destroy();
        callback(error, null);
      } else {
        socket.setNoDelay(true);
        callback(null, socket);
      }
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => finish(Object.assign(new Error(`connecting to ${host}:${toPort} timed out`), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    socket.once('error', finish);
    socket.once(secure ? 'secureConnect' : 'connect', () => finish(null));
  };
  (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] = new Agent({ connect });
}
