import type { HostTarget } from '../../core/config.js';
import { SshTransport, readPrivateKey } from '../ssh/ssh-transport.js';
import { LocalTransport } from './local-transport.js';
import type { Transport } from './transport.js';

/** The transport for a host: SSH with the deploy key, host keys checked against known_hosts; or local. */
export function createTransport(host: Extract<HostTarget, { kind: 'ssh' | 'file' }>, keys: { sshKeyPath: string; knownHostsPath: string }): Transport {
  if (host.kind === 'file') return new LocalTransport();
  return new SshTransport({
    host: host.host,
    port: host.port,
    user: host.user,
    privateKey: readPrivateKey(keys.sshKeyPath),
    privateKeyPath: keys.sshKeyPath,
    knownHostsPath: keys.knownHostsPath,
  });
}
