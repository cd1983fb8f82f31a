/**
 * What the SSH transport (and the host key scan) tell the user when a host cannot be reached, will not let us
 * in, offers a key we do not trust, or drops a command: each a UserError naming the host and the fix. Only
 * the wording lives here; ssh-transport.ts decides which one applies.
 */
import { UserError } from '../../core/errors.js';
import { fingerprint, hostKeyName } from './known-hosts.js';

/** Where a connection goes, as the messages name it. */
export interface SshPlace {
  host: string;
  port: number;
  /** `host:port`, IPv6 in brackets. */
  hostPort: string;
}

/** An error from ssh2 or the socket under it. */
export type SshError = Error & { level?: string; code?: string };

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EHOSTDOWN: 'host is down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** The error for a host that could not be reached (refused, no route, no handshake in time), if that is what happened. */
export function unreachableError(hostPort: string, port: number, error: SshError, readyTimeoutMs: number): UserError | undefined {
  const hint = `is the host up and sshd listening on port ${port}? check BLUE_HOST / GREEN_HOST`;
  const reason = error.code === undefined ? undefined : UNREACHABLE[error.code];
  if (reason !== undefined) return new UserError(`cannot reach ${hostPort} (${reason})`, { hint, cause: error });
  if (error.level === 'client-timeout') {
    return new UserError(`cannot reach ${hostPort} (no SSH handshake within ${readyTimeoutMs / 1000} s)`, { hint, cause: error });
  }
  return undefined;
}

/** The host key in known_hosts is missing, different, or marked @revoked. */
export function hostKeyError(status: 'unknown' | 'changed' | 'revoked', key: Buffer, place: SshPlace & { knownHostsPath: string | undefined }): UserError {
  const { host, port, hostPort, knownHostsPath } = place;
  const offered = fingerprint(key);
  const scan = `ssh-keyscan -p ${port} ${host} >> ${knownHostsPath}`;
  if (status === 'unknown') {
    return new UserError(`host key of ${hostPort} is not known: it offered ${offered}`, {
      hint: `check the fingerprint, then add it: ${scan} (or \`bluegreen provision blue|green --host-key ${offered}\`)`,
    });
  }
  if (status === 'revoked') {
    return new UserError(`host key of ${hostPort} is REVOKED: it offered ${offered}, which ${knownHostsPath} marks @revoked`, {
      hint: 'the host must get a new host key; check its fingerprint out of band, then trust it',
    });
  }
  return new UserError(
    `host key of ${hostPort} has CHANGED: it offered ${offered}, which does not match ${knownHostsPath}; ` +
      'someone may be intercepting the connection (man-in-the-middle), or the host was rebuilt',
    {
      hint:
        `if the host was rebuilt, check the new fingerprint out of band, remove the old entry ` +
        `(ssh-keygen -R '${hostKeyName(host, port)}' -f ${knownHostsPath}), then add the new one: ${scan}`,
    },
  );
}

/** Provisioning pinned the key it had just scanned, and the login met another. */
export function pinnedHostKeyError(hostPort: string, key: Buffer): UserError {
  return new UserError(`host key of ${hostPort} changed between the scan and the login: it offered ${fingerprint(key)}`, {
    hint: 'someone may be intercepting the connection; check the host, then run provision again',
  });
}

/** Why a connection did not open: unreachable, login refused, or not an SSH server at all. */
export function connectError(
  error: SshError,
  how: SshPlace & { user: string; login: 'deploy' | 'admin' | undefined; privateKeyPath: string | undefined; withKey: boolean; readyTimeoutMs: number },
): UserError {
  const { host, port, hostPort, user, privateKeyPath } = how;
  const unreachable = unreachableError(hostPort, port, error, how.readyTimeoutMs);
  if (unreachable) return unreachable;
  if (error.level === 'client-authentication' && how.login === 'admin') {
    return new UserError(`the admin login ${user}@${hostPort} was refused: the server accepted none of our credentials`, {
      hint: how.withKey
        ? `is ${privateKeyPath ?? 'the admin key'}'s public key in ~${user}/.ssh/authorized_keys on the host? (BLUEGREEN_ADMIN_KEY, BLUEGREEN_ADMIN_USER)`
        : `does the SSH agent (SSH_AUTH_SOCK) hold a key authorized for ${user} on the host? or set BLUEGREEN_ADMIN_KEY`,
      cause: error,
    });
  }
  if (error.level === 'client-authentication') {
    return new UserError(`SSH login as ${user}@${hostPort} was refused: the server accepted none of our keys (${error.message})`, {
      hint:
        `is the deploy key${privateKeyPath === undefined ? '' : ` (${privateKeyPath}.pub)`} ` +
        `authorized for ${user} on ${host}? \`bluegreen provision\` installs it`,
      cause: error,
    });
  }
  return new UserError(`cannot open an SSH connection to ${user}@${hostPort}: ${error.message}`, {
    hint: `is ${hostPort} an SSH server?`,
    cause: error,
  });
}

/** ssh2 could not parse the private key (encrypted, a public key, not a key). */
export function unusableKeyError(error: unknown, how: { login: 'deploy' | 'admin' | undefined; privateKeyPath: string | undefined }): UserError {
  const admin = how.login === 'admin';
  return new UserError(`the ${admin ? 'admin' : 'SSH'} key ${how.privateKeyPath ?? '(deploy key)'} cannot be used: ${errorText(error)}`, {
    exitCode: 2,
    hint: admin
      ? 'BLUEGREEN_ADMIN_KEY must be an unencrypted private key (OpenSSH or PEM); for a key with a passphrase, load it into ssh-agent and unset BLUEGREEN_ADMIN_KEY'
      : 'it must be an unencrypted private key (OpenSSH or PEM format); `bluegreen init` writes one',
    cause: error,
  });
}

/** The deploy key file cannot be read. */
export function unreadableKeyError(path: string, error: unknown): UserError {
  return new UserError(`cannot read the SSH key ${path}: ${errorText(error)}`, {
    hint: 'set BLUEGREEN_SSH_KEY to a readable private key, or create one with `bluegreen init`',
    cause: error,
  });
}

/** The known_hosts file exists but cannot be read. */
export function unreadableKnownHostsError(path: string, error: unknown): UserError {
  return new UserError(`cannot read the known_hosts file ${path}: ${errorText(error)}`, {
    hint: 'set BLUEGREEN_KNOWN_HOSTS to a readable OpenSSH known_hosts file',
    cause: error,
  });
}

/** The host refused a further exec channel on a live connection. */
export function channelOpenError(label: string, command: string, error: unknown): UserError {
  return new UserError(`could not start \`${brief(command)}\` on ${label}: ${errorText(error)}`, {
    hint: 'the host may limit concurrent SSH sessions (sshd_config MaxSessions)',
    cause: error,
  });
}

/** The connection dropped while a command ran, before it reported an exit status. */
export function lostConnectionError(label: string, command: string): UserError {
  return new UserError(`lost the SSH connection to ${label} while running \`${brief(command)}\``, {
    hint: 'the command may or may not have finished on the host; check the host, then run it again',
  });
}

/** A command on one line, at most 80 characters. */
function brief(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
