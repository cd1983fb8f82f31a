import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import finalhandler from 'finalhandler';
import serveStatic from 'serve-static';
import { listenOn } from '../adapters/http/listen.js';
import type { Listen } from '../core/config.js';

export interface StaticHost {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a `file://` host's `current` release over HTTP (on the address of `${NAME}_URL`, e.g. BLUE_URL), the way Apache or nginx would on a real host. The
 * symlink is followed on every request, so a switch takes effect at once.
 */
export async function startStaticHost(appRoot: string, listen: Listen, name: string): Promise<StaticHost> {
  const root = path.join(appRoot, 'current');
  const files = serveStatic(root, { index: ['index.html'], dotfiles: 'ignore', fallthrough: true, cacheControl: false });
  const server = http.createServer((req, res) => {
    if (!existsSync(root)) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`nothing is deployed to ${name} yet: git push ${name} main\n`);
      return;
    }
    files(req, res, finalhandler(req, res));
  });
  const variable = `${name.toUpperCase()}_URL`;
  await listenOn(server, listen, { variable, form: `http://127.0.0.1:PORT/ (the ${name} host's address)` });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${listen.host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
