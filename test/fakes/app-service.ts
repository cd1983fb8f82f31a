/**
 * A fake Azure App Service app with one deployment slot, over HTTPS under the real host names (reached through
 * BLUEGREEN_CONNECT_TO; the certificate comes from a test CA): Azure sign-in, ARM site and slot resources (the
 * slot's host name truncated and suffixed, as Azure makes it), `slotsswap` as a long-running operation that
 * really exchanges what the two host names serve, each slot's Kudu (zip deploy with its async lifecycle: 202,
 * pending → building → success or failed, 409 while busy), and the two sites themselves: each a directory the
 * deployed zip is unpacked into (with `unzip`: what bluegreen sends must be a real zip), served as static files.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type TestCa, makeTestCa } from '../helpers/test-ca.js';

export const ARM_HOST = 'management.azure.com';
export const LOGIN_HOST = 'login.microsoftonline.com';

export interface FakeAppServiceOptions {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  app: string;
  slot: string;
  /** Polls a zip deploy stays pending, then building (each); default 1. */
  deployPolls?: number;
  /** Polls a swap stays InProgress; default 1. */
  swapPolls?: number;
}

type Role = 'production' | 'slot';

interface Deployment {
  id: string;
  status: number;
  pollsLeft: number;
  zip: string;
  failText: string | undefined;
}

export interface FakeAppService {
  /** Port on 127.0.0.1 every name is served on. */
  port: number;
  ca: TestCa;
  hosts: { production: string; slot: string; productionScm: string; slotScm: string };
  /** BLUEGREEN_CONNECT_TO sending every name of the fake to it. */
  connectTo: string;
  /** Every request as `HOST METHOD /path` (no query). */
  requests: string[];
  /** What each slot serves now: its REVISION file, or undefined. */
  revision(role: Role): string | undefined;
  /** Exchanges what the slots serve, as a swap in the portal would (no operation, no record). */
  swapNow(): void;
  /** The next zip deploy fails with this status_text. */
  failNextDeploy(text: string): void;
  /** The next N zip deploys are answered 409 (another deployment running). */
  kuduBusyNext(count: number): void;
  /** The next N swaps answer 409. */
  swapBusyNext(count: number): void;
  /** The next zip deploy is answered 403 (the service principal may not deploy) or 400 (not a zip). */
  kuduRefusesNext(status: 400 | 403): void;
  /** The slot resource lists no Repository (Kudu) host name, as with the SCM site turned off. */
  scmHidden: boolean;
  /** The next swap answers 417 (the slot did not answer the warm-up ping). */
  swapWarmupFailsNext(): void;
  /** Production answers 503 to everything while it serves this revision (e.g. a sticky setting that breaks it). */
  brokenInProduction: string | undefined;
  /** Largest zip received, in bytes. */
  largestZip: number;
  /** When set, a deploy unpacks only these paths of the zip (a test of a huge tree need not write it all to disk). */
  unpackOnly: string[] | undefined;
  /** The entries of the last zip unpacked, as `unzip -Z1` lists them. */
  lastZipEntries: string[];
  close(): Promise<void>;
}

export async function startFakeAppService(options: FakeAppServiceOptions): Promise<FakeAppService> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-appservice-'));
  const suffix = randomBytes(3).toString('hex');
  const hosts = {
    production: `${options.app}.azurewebsites.net`,
    productionScm: `${options.app}.scm.azurewebsites.net`,
    // Azure truncates `<app>-<slot>` and appends random characters: bluegreen must read it, never build it.
    slot: `${`${options.app}-${options.slot}`.slice(0, 40)}-${suffix}.azurewebsites.net`,
    slotScm: `${`${options.app}-${options.slot}`.slice(0, 40)}-${suffix}.scm.azurewebsites.net`,
  };
  const ca = makeTestCa(dir, [ARM_HOST, LOGIN_HOST, '*.azurewebsites.net', '*.scm.azurewebsites.net']);
  // The two web servers' content: which directory each host name serves is what a swap exchanges.
  const sites: Record<Role, string> = { production: path.join(dir, 'site-a'), slot: path.join(dir, 'site-b') };
  for (const site of Object.values(sites)) mkdirSync(site);
  const deployments: Record<Role, Deployment | undefined> = { production: undefined, slot: undefined };
  const operations = new Map<string, { pollsLeft: number }>();
  const tokens = new Set<string>();
  let failText: string | undefined;
  let kuduBusy = 0;
  let swapBusy = 0;
  let warmupFails = false;
  let kuduRefuses: 400 | 403 | undefined;
  const sitePath = `/subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}/providers/Microsoft.Web/sites/${options.app}`;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const revisionOf = (site: string) => {
    const file = path.join(site, 'REVISION');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  };
  const swap = () => {
    [sites.production, sites.slot] = [sites.slot, sites.production];
  };
  const resource = (role: Role) => {
    const host = role === 'production' ? hosts.production : hosts.slot;
    const scm = role === 'production' ? hosts.productionScm : hosts.slotScm;
    return {
      id: role === 'production' ? sitePath : `${sitePath}/slots/${options.slot}`,
      name: role === 'production' ? options.app : `${options.app}/${options.slot}`,
      type: role === 'production' ? 'Microsoft.Web/sites' : 'Microsoft.Web/sites/slots',
      location: 'West Europe',
      properties: {
        state: 'Running',
        defaultHostName: host,
        hostNames: [host],
        hostNameSslStates: [
          { name: host, sslState: 'Disabled', hostType: 'Standard' },
          ...(role === 'slot' && fake.scmHidden ? [] : [{ name: scm, sslState: 'Disabled', hostType: 'Repository' }]),
        ],
      },
    };
  };
  const authorized = (req: IncomingMessage) => tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));

  async function kudu(role: Role, req: IncomingMessage, res: ServerResponse, url: URL) {
    const host = role === 'production' ? hosts.productionScm : hosts.slotScm;
    if (!authorized(req)) return json(res, 401, { Code: 'Unauthorized', Message: 'no valid bearer token' });
    if (req.method === 'POST' && url.pathname === '/api/zipdeploy') {
      if (kuduRefuses) {
        const status = kuduRefuses;
        kuduRefuses = undefined;
        req.resume();
        return status === 403
          ? json(res, 403, { Code: 'Forbidden', Message: 'The client does not have authorization to perform action Microsoft.Web/sites/publish/Action.' })
          : json(res, 400, { Code: 'BadRequest', Message: 'The zip file is corrupt.' });
      }
      const running = deployments[role];
      if (kuduBusy > 0 || (running && running.status < 3)) {
        if (kuduBusy > 0) kuduBusy -= 1;
        req.resume();
        return json(res, 409, { Code: 'Conflict', Message: 'There is a deployment currently in progress. Please try again when it completes.' }, { 'retry-after': '0' });
      }
      const id = randomBytes(8).toString('hex');
      const zip = path.join(dir, `${id}.zip`);
      await pipeline(req, createWriteStream(zip));
      fake.largestZip = Math.max(fake.largestZip, statSync(zip).size);
      deployments[role] = { id, status: 0, pollsLeft: options.deployPolls ?? 1, zip, failText };
      failText = undefined;
      res.writeHead(202, { location: `https://${host}/api/deployments/latest?deployer=Push-Deployer`, 'content-length': '0' });
      return res.end();
    }
    if (req.method === 'GET' && url.pathname === '/api/deployments/latest') {
      const d = deployments[role];
      if (!d) return json(res, 404, { Code: 'NotFound', Message: 'no deployment' });
      if (d.status < 3) {
        if (d.pollsLeft > 0) d.pollsLeft -= 1;
        else if (d.status === 0) {
          d.status = 1;
          d.pollsLeft = options.deployPolls ?? 1;
        } else if (d.failText !== undefined) d.status = 3;
        else {
          // Zip deploy replaces the site's files with the zip's.
          const site = role === 'production' ? sites.production : sites.slot;
          rmSync(site, { recursive: true, force: true });
          mkdirSync(site);
          fake.lastZipEntries = execFileSync('unzip', ['-Z1', d.zip], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
          execFileSync('unzip', ['-q', d.zip, ...(fake.unpackOnly ?? []), '-d', site]);
          rmSync(d.zip, { force: true });
          d.status = 4;
        }
      }
      const body = {
        id: d.id,
        status: d.status,
        status_text: d.status === 3 ? d.failText : d.status === 1 ? 'Building and Deploying' : '',
        complete: d.status >= 3,
        log_url: `https://${host}/api/deployments/${d.id}/log`,
        deployer: 'Push-Deployer',
      };
      return json(res, d.status >= 3 ? 200 : 202, body, d.status >= 3 ? {} : { 'retry-after': '0' });
    }
    return json(res, 404, { Code: 'NotFound', Message: `no ${req.method} ${url.pathname}` });
  }

  function arm(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (!authorized(req)) return json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' } });
    if (req.method === 'GET' && url.pathname === sitePath) return json(res, 200, resource('production'));
    if (req.method === 'GET' && url.pathname === `${sitePath}/slots/${options.slot}`) return json(res, 200, resource('slot'));
    if (req.method === 'POST' && url.pathname === `${sitePath}/slots/${options.slot}/slotsswap`) {
      req.resume();
      if (swapBusy > 0) {
        swapBusy -= 1;
        return json(res, 409, { Code: 'Conflict', Message: 'Cannot modify this site because another operation is in progress.' }, { 'retry-after': '0' });
      }
      if (warmupFails) {
        warmupFails = false;
        return json(res, 417, { Code: 'ExpectationFailed', Message: `Cannot swap site slots for site '${options.app}' because the '${options.slot}' slot did not respond to http ping.` });
      }
      const id = randomBytes(8).toString('hex');
      operations.set(id, { pollsLeft: options.swapPolls ?? 1 });
      res.writeHead(202, {
        'azure-asyncoperation': `https://${ARM_HOST}/subscriptions/${options.subscriptionId}/providers/Microsoft.Web/locations/westeurope/operationResults/${id}?api-version=2023-12-01`,
        'retry-after': '0',
        'content-length': '0',
      });
      return res.end();
    }
    const operation = /\/operationResults\/([0-9a-f]+)$/.exec(url.pathname);
    if (req.method === 'GET' && operation) {
      const op = operations.get(operation[1]!);
      if (!op) return json(res, 404, { error: { code: 'NotFound', message: 'no such operation' } });
      if (op.pollsLeft > 0) {
        op.pollsLeft -= 1;
        return json(res, 200, { status: 'InProgress' }, { 'retry-after': '0' });
      }
      if (operations.delete(operation[1]!)) swap();
      return json(res, 200, { status: 'Succeeded' });
    }
    return json(res, 404, { error: { code: 'ResourceNotFound', message: `The Resource '${url.pathname}' was not found.` } });
  }

  function site(role: Role, res: ServerResponse, url: URL) {
    const root = sites[role];
    if (role === 'production' && fake.brokenInProduction !== undefined && revisionOf(root) === fake.brokenInProduction) {
      res.writeHead(503);
      return res.end('Service Unavailable');
    }
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.join(root, relative);
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      return res.end('Not Found');
    }
    res.writeHead(200);
    res.end(readFileSync(file));
  }

  const server = https.createServer({ cert: ca.cert, key: ca.key }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(req.url ?? '/', `https://${host}`);
    fake.requests.push(`${host} ${req.method} ${url.pathname}`);
    const done = (error: unknown) => {
      if (!res.headersSent) json(res, 500, { Code: 'InternalError', Message: String(error) });
    };
    try {
      if (host === LOGIN_HOST && req.method === 'POST' && url.pathname === `/${options.tenantId}/oauth2/v2.0/token`) {
        req.resume();
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        return json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: token });
      }
      if (host === ARM_HOST) return arm(req, res, url);
      if (host === hosts.productionScm) return void kudu('production', req, res, url).catch(done);
      if (host === hosts.slotScm) return void kudu('slot', req, res, url).catch(done);
      if (host === hosts.production) return site('production', res, url);
      if (host === hosts.slot) return site('slot', res, url);
      json(res, 404, { Code: 'NotFound', Message: `no such host ${host}` });
    } catch (error) {
      done(error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const names = [ARM_HOST, LOGIN_HOST, hosts.production, hosts.productionScm, hosts.slot, hosts.slotScm];

  const fake: FakeAppService = {
    port,
    ca,
    hosts,
    connectTo: names.map((name) => `${name}:443:127.0.0.1:${port}`).join(','),
    requests: [],
    revision: (role) => revisionOf(sites[role]),
    swapNow: swap,
    failNextDeploy: (text) => {
      failText = text;
    },
    kuduBusyNext: (count) => {
      kuduBusy = count;
    },
    swapBusyNext: (count) => {
      swapBusy = count;
    },
    kuduRefusesNext: (status) => {
      kuduRefuses = status;
    },
    scmHidden: false,
    swapWarmupFailsNext: () => {
      warmupFails = true;
    },
    brokenInProduction: undefined,
    largestZip: 0,
    unpackOnly: undefined,
    lastZipEntries: [],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fake;
}
