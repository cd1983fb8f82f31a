/**
 * A fake DigitalOcean API on 127.0.0.1 following the documented shapes (DESIGN.md): reserved IPs, droplets,
 * assign actions that stay in-progress for a few polls, and the error answers, switchable per test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDroplet {
  id: number;
  name: string;
}

interface FakeAction {
  id: number;
  ip: string;
  dropletId: number;
  status: 'in-progress' | 'completed' | 'errored';
  ticksLeft: number;
  outcome: 'completed' | 'errored' | 'never';
}

export interface FakeDigitalOceanOptions {
  token: string;
  droplets: FakeDroplet[];
  /** reserved IP → droplet id (null: unassigned) */
  reservedIps: Record<string, number | null>;
  /** Requests touching the IP (action or IP GETs) while an action stays in progress. */
  ticks?: number;
  /** Called when an assign completes: re-point the forwarder standing for `ip`. */
  onAssign?: (ip: string, dropletId: number) => void;
  /** The clock `ratelimit-reset` is computed from. */
  now?: () => number;
}

export interface FakeDigitalOcean {
  url: string;
  /** Every request as `METHOD /path?query`, with the Authorization header it carried. */
  requests: Array<{ line: string; authorization: string | undefined }>;
  reservedIps: Map<string, number | null>;
  /** Next N requests answer 5xx. */
  failNext(count: number, status?: number): void;
  /** Next N requests answer 429 with the rate-limit headers (and `retry-after` if given). */
  rateLimitNext(count: number, headers: { retryAfter?: string; resetInSeconds?: number }): void;
  /** How the next assign actions end. */
  nextOutcome: FakeAction['outcome'];
  /** Action GETs answer 404 (bring-your-own IPs). */
  actionGet404: boolean;
  /** Whether the reserved IP shows `locked: true` while an action runs (if not, only the POST's 422 tells). */
  reportLocked: boolean;
  /** 5xx answers quote the Authorization header they got (a careless server): the client must not repeat it. */
  echoCredentials: boolean;
  /** The next N requests get no answer at all. */
  hangNext(count: number): void;
  /** Starts an action not made by the provider: 422 pending event for the next `ticks` requests. */
  startForeignAction(ip: string, dropletId: number, ticks: number): void;
  close(): Promise<void>;
}

export async function startFakeDigitalOcean(options: FakeDigitalOceanOptions): Promise<FakeDigitalOcean> {
  const reservedIps = new Map(Object.entries(options.reservedIps));
  const actions = new Map<number, FakeAction>();
  const requests: FakeDigitalOcean['requests'] = [];
  let nextId = 1000;
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let limits: { count: number; retryAfter?: string; resetInSeconds?: number } = { count: 0 };
  let hangs = 0;
  const now = options.now ?? Date.now;

  const running = (ip: string) => [...actions.values()].find((a) => a.ip === ip && a.status === 'in-progress');
  const tick = (ip: string) => {
    const action = running(ip);
    if (!action || action.outcome === 'never') return;
    if (action.ticksLeft > 0) {
      action.ticksLeft -= 1;
      return;
    }
    action.status = action.outcome;
    if (action.outcome === 'completed') {
      reservedIps.set(action.ip, action.dropletId);
      options.onAssign?.(action.ip, action.dropletId);
    }
  };
  const droplet = (id: number | null) => {
    if (id === null) return null;
    const d = options.droplets.find((x) => x.id === id);
    return { id, name: d?.name ?? `droplet-${id}`, status: 'active' };
  };
  const actionBody = (a: FakeAction) => ({
    id: a.id,
    status: a.status,
    type: 'assign_ip',
    started_at: '2026-11-23T10:00:00Z',
    completed_at: a.status === 'in-progress' ? null : '2026-11-23T10:00:10Z',
    resource_id: 0,
    resource_type: 'reserved_ip',
    region_slug: 'ams3',
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({ line: `${req.method} ${url.pathname}${url.search}`, authorization: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        return send(401, { id: 'unauthorized', message: 'Unable to authenticate you' });
      }
      if (hangs > 0) {
        hangs -= 1;
        return;
      }
      if (limits.count > 0) {
        limits.count -= 1;
        const headers: Record<string, string> = {
          'ratelimit-limit': '5000',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.floor(now() / 1000) + (limits.resetInSeconds ?? 60)),
        };
        if (limits.retryAfter !== undefined) headers['retry-after'] = limits.retryAfter;
        return send(429, { id: 'too_many_requests', message: 'API Rate limit exceeded.' }, headers);
      }
      if (failures.count > 0) {
        failures.count -= 1;
        const message = `Server was unable to give you a response.${fake.echoCredentials ? ` (${req.headers.authorization})` : ''}`;
        return send(failures.status, { id: 'server_error', message });
      }
      let m: RegExpMatchArray | null;
      if (req.method === 'GET' && url.pathname === '/v2/droplets') {
        const name = url.searchParams.get('name');
        const found = options.droplets.filter((d) => name === null || d.name === name).map((d) => droplet(d.id));
        return send(200, { droplets: found, links: {}, meta: { total: found.length } });
      }
      if ((m = url.pathname.match(/^\/v2\/reserved_ips\/([^/]+)$/)) && req.method === 'GET') {
        const ip = m[1]!;
        if (!reservedIps.has(ip)) return send(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
        tick(ip);
        return send(200, {
          reserved_ip: { ip, droplet: droplet(reservedIps.get(ip)!), region: { slug: 'ams3' }, locked: fake.reportLocked && running(ip) !== undefined, project_id: 'p' },
        });
      }
      if ((m = url.pathname.match(/^\/v2\/reserved_ips\/([^/]+)\/actions$/)) && req.method === 'POST') {
        const ip = m[1]!;
        if (!reservedIps.has(ip)) return send(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { type?: string; droplet_id?: number };
        if (body.type !== 'assign' || !options.droplets.some((d) => d.id === body.droplet_id)) {
          return send(422, { id: 'unprocessable_entity', message: 'Droplet must exist and be in the same region.' });
        }
        if (running(ip)) return send(422, { id: 'unprocessable_entity', message: 'Reserved IP already has a pending event.' });
        const action: FakeAction = {
          id: nextId++,
          ip,
          dropletId: body.droplet_id!,
          status: 'in-progress',
          ticksLeft: options.ticks ?? 2,
          outcome: fake.nextOutcome,
        };
        actions.set(action.id, action);
        return send(201, { action: actionBody(action) });
      }
      if ((m = url.pathname.match(/^\/v2\/(?:reserved_ips\/([^/]+)\/)?actions\/(\d+)$/)) && req.method === 'GET') {
        const action = actions.get(Number(m[2]));
        if (fake.actionGet404 || !action || (m[1] && m[1] !== action.ip)) {
          if (action) tick(action.ip);
          return send(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
        }
        tick(action.ip);
        return send(200, { action: actionBody(action) });
      }
      send(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const fake: FakeDigitalOcean = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reservedIps,
    nextOutcome: 'completed',
    actionGet404: false,
    reportLocked: true,
    echoCredentials: false,
    hangNext(count) {
      hangs = count;
    },
    failNext(count, status = 500) {
      failures = { count, status };
    },
    rateLimitNext(count, headers) {
      limits = { count, ...headers };
    },
    startForeignAction(ip, dropletId, ticks) {
      const action: FakeAction = { id: nextId++, ip, dropletId, status: 'in-progress', ticksLeft: ticks, outcome: 'completed' };
      actions.set(action.id, action);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
