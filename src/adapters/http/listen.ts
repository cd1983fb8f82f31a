import type net from 'node:net';
import type { Listen } from '../../core/config.js';
import { UserError } from '../../core/errors.js';

export interface ListenSetting {
  /** The variable that sets the address, e.g. `BLUEGREEN_LISTEN`. */
  variable: string;
  /** What a good value looks like, e.g. `host:port`. */
  form: string;
}

function why(code: string | undefined, setting: ListenSetting): { reason: string; hint: string } {
  switch (code) {
    case 'EADDRINUSE':
      return { reason: 'the address is in use', hint: `stop whatever uses it, or set ${setting.variable} to another ${setting.form}` };
    case 'EADDRNOTAVAIL':
      return {
        reason: 'the address is not one of this machine',
        hint: `set ${setting.variable} to an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its addresses)`,
      };
    case 'EACCES':
      return { reason: 'permission denied', hint: `ports below 1024 need root: set ${setting.variable} to a port of 1024 or more` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return { reason: 'the host name does not resolve', hint: `set ${setting.variable} to an IP address of this machine` };
    default:
      return { reason: code ?? 'unknown error', hint: `set ${setting.variable} to another ${setting.form}` };
  }
}

/**
 * Starts `server` listening on `listen`; a failure (address in use, not this machine's, ...) is a UserError
 * (exit 2) naming the variable that set the address and how to fix it. The server holds nothing open then.
 */
export async function listenOn(server: net.Server, listen: Listen, setting: ListenSetting): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const { reason, hint } = why((error as NodeJS.ErrnoException).code, setting);
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    throw new UserError(`cannot listen on ${host}:${listen.port} (${setting.variable}): ${reason}`, { exitCode: 2, hint, cause: error });
  }
}
