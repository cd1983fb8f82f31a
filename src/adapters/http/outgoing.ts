/**
 * Where every outgoing HTTP(S) request of the product connects (BLUEGREEN_CONNECT_TO): the cloud clients, the
 * checks, Azure sign-in and Kudu all use the global `fetch`, so one global dispatcher reroutes them all. A
 * request to HOST1:PORT1 opens its socket to HOST2:PORT2, while TLS still sends and verifies HOST1's name
 * (SNI and the certificate check), as curl's `--connect-to` does. undici's global dispatcher is the one Node's
 * own fetch uses (undici 6, as Node 20 bundles).
 */
import net from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector, setGlobalDispatcher } from 'undici';
import type { ConnectTo } from '../../core/config/types.js';

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
  const connector = buildConnector({ ca });
  setGlobalDispatcher(
    new Agent({
      connect: (opts, callback) => {
        const hostname = opts.hostname.replace(/^\[|\]$/g, '');
        const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
        const route = findRoute(rules, hostname, port);
        if (!route) return connector(opts, callback);
        // The socket goes to HOST2:PORT2; the TLS name stays HOST1's.
        const servername = opts.servername || (net.isIP(hostname) ? undefined : hostname);
        return connector({ ...opts, hostname: route.toHost, port: String(route.toPort), servername }, callback);
      },
    }),
  );
}
