/**
 * A fake DigitalOcean API on 127.0.0.1 following the documented shapes (DESIGN.md): reserved IPs, droplets
 * (by name, by tag, paginated), assign actions that stay in-progress for a few polls, load balancers (a PUT
 * replaces the whole object, resetting what it leaves out; 403 while a change is applied; `new` until active
 * after a few reads), and the error answers, switchable per test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDroplet {
  id: number;
  name: string;
  tags?: string[];
  /** Its IPv4 addresses by network; default one of each, made from the id (10.110.x.y and 198.51.x.y). */
  addresses?: { private?: string; public?: string };
}

/** A load balancer as GET shows it (status, region object, and for a tag, the tag's droplets are added). */
export type FakeBalancer = Record<string, any> & { id: string; name: string };

/** What a load balancer's update PUT resets an attribute to when the body leaves it out (the API's defaults). */
export const BALANCER_DEFAULTS: Readonly<Record<string, unknown>> = {
  name: '',
  project_id: '',
  size_unit: 1,
  size: 'lb-small',
  algorithm: 'round_robin',
  forwarding_rules: [],
  health_check: {
    protocol: 'http',
    port: 80,
    path: '/',
    check_interval_seconds: 10,
    response_timeout_seconds: 5,
    healthy_threshold: 3,
    unhealthy_threshold: 5,
  },
  sticky_sessions: { type: 'none' },
  tag: '',
  droplet_ids: [],
  redirect_http_to_https: false,
  enable_proxy_protocol: false,
  enable_backend_keepalive: false,
  http_idle_timeout_seconds: 60,
  vpc_uuid: '',
  disable_lets_encrypt_dns_records: false,
  firewall: { allow: [], deny: [] },
};

/** Attributes PUT does not set (region is checked on its own). */
const BALANCER_READ_ONLY = ['id', 'ip', 'ipv6', 'status', 'created_at'];

const BUSY_MESSAGE = "Load Balancer can't be updated while it processes previous actions";

/** A balancer with every attribute set away from its default, as GET returns it (status `active`, region ams3). */
export function loadBalancer(id: string, name: string, target: { tag: string } | { droplet_ids: number[] }): FakeBalancer {
  return {
    id,
    name,
    ip: '203.0.113.80',
    size_unit: 2,
    size: 'lb-small',
    algorithm: 'round_robin',
    status: 'active',
    created_at: '2026-11-01T09:00:00Z',
    forwarding_rules: [
      { entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: 8080, certificate_id: '', tls_passthrough: false },
      { entry_protocol: 'https', entry_port: 443, target_protocol: 'http', target_port: 8080, certificate_id: '892071a0-bb95-49bc-8021-3afd67a210bf', tls_passthrough: false },
    ],
    health_check: { protocol: 'http', port: 8080, path: '/health.txt', check_interval_seconds: 5, response_timeout_seconds: 3, healthy_threshold: 2, unhealthy_threshold: 4 },
    sticky_sessions: { type: 'cookies', cookie_name: 'BG', cookie_ttl_seconds: 300 },
    region: { name: 'Amsterdam 3', slug: 'ams3', sizes: ['s-1vcpu-1gb'], features: ['private_networking'], available: true },
    tag: 'tag' in target ? target.tag : '',
    droplet_ids: 'droplet_ids' in target ? target.droplet_ids : [],
    redirect_http_to_https: true,
    enable_proxy_protocol: true,
    enable_backend_keepalive: true,
    http_idle_timeout_seconds: 120,
    vpc_uuid: 'c33931f2-a26a-4e61-b85c-4e95a2ec431b',
    project_id: '4de7ac8b-495b-4884-9a69-1050c6793cd6',
    disable_lets_encrypt_dns_records: true,
    firewall: { allow: ['cidr:198.51.100.0/24'], deny: ['ip:192.0.2.9'] },
  };
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
  /** Load balancers as GET shows them (see `loadBalancer`). */
  loadBalancers?: FakeBalancer[];
  /** Reads of a balancer (its GET) while a change stays `new`, before it is `active` (default 2). */
  balancerTicks?: number;
  /** Called when a balancer's change is applied (status `active`), with the balancer as GET shows it. */
  onBalancerActive?: (balancer: FakeBalancer) => void;
  /** Page size of lists when the request gives no `per_page` (the API's default is 20). */
  perPage?: number;
  /** The largest page size a request may ask for (the API's is 200). */
  maxPerPage?: number;
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
  /** Load balancers by id, as stored (a tagged one without its droplet ids); tests may change them. */
  loadBalancers: Map<string, FakeBalancer>;
  /** Every load balancer PUT body, in order. */
  balancerPuts: Array<Record<string, unknown>>;
  /** How the next balancer changes end: `active`, `errored`, or `never` (stays `new`). */
  nextBalancerOutcome: 'active' | 'errored' | 'never';
  /** Balancer PUTs answer 403 forbidden (a token without write access), not the busy 403. */
  forbidBalancerPuts: boolean;
  /** A change not made by the provider: the balancer is `new` (PUTs answer 403) for the next `ticks` reads of it. */
  startForeignBalancerChange(id: string, ticks: number): void;
  /** The balancer as GET shows it. */
  balancerView(id: string): FakeBalancer;
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
  const balancers = new Map((options.loadBalancers ?? []).map((b) => [b.id, structuredClone(b)]));
  /** Per balancer: reads left while `new`, and how the change ends. */
  const changes = new Map<string, { ticksLeft: number; outcome: FakeDigitalOcean['nextBalancerOutcome'] }>();
  const balancerPuts: FakeDigitalOcean['balancerPuts'] = [];

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
    const addresses = d?.addresses ?? { private: `10.110.${Math.floor(id / 256) % 256}.${id % 256}`, public: `198.51.${Math.floor(id / 256) % 256}.${id % 256}` };
    const networks = {
      v4: [
        ...(addresses.private ? [{ ip_address: addresses.private, netmask: '255.255.0.0', gateway: '10.110.0.1', type: 'private' }] : []),
        ...(addresses.public ? [{ ip_address: addresses.public, netmask: '255.255.240.0', gateway: '198.51.0.1', type: 'public' }] : []),
      ],
      v6: [],
    };
    return { id, name: d?.name ?? `droplet-${id}`, status: 'active', tags: d?.tags ?? [], networks };
  };
  /** One page of `items` as the API lists them, with `links.pages.next` (an absolute URL) while more follow. */
  const page = (url: URL, origin: string, key: string, items: unknown[]) => {
    const perPage = Math.min(options.maxPerPage ?? 200, Number(url.searchParams.get('per_page') ?? options.perPage ?? 20));
    const number = Number(url.searchParams.get('page') ?? 1);
    const pages: Record<string, string> = {};
    const link = (n: number) => {
      const next = new URL(url.pathname + url.search, origin);
      next.searchParams.set('page', String(n));
      next.searchParams.set('per_page', String(perPage));
      return next.href;
    };
    const last = Math.max(1, Math.ceil(items.length / perPage));
    if (number < last) Object.assign(pages, { next: link(number + 1), last: link(last) });
    if (number > 1) Object.assign(pages, { first: link(1), prev: link(number - 1) });
    return { [key]: items.slice((number - 1) * perPage, number * perPage), links: { pages }, meta: { total: items.length } };
  };
  const balancerView = (id: string): FakeBalancer => {
    const stored = balancers.get(id)!;
    const view = structuredClone(stored);
    if (stored.tag) view.droplet_ids = options.droplets.filter((d) => d.tags?.includes(stored.tag)).map((d) => d.id);
    return view;
  };
  /** A read of a balancer: a change in progress comes one read closer to its end. */
  const tickBalancer = (id: string) => {
    const change = changes.get(id);
    const stored = balancers.get(id)!;
    if (!change || change.outcome === 'never') return;
    if (change.ticksLeft > 0) {
      change.ticksLeft -= 1;
      return;
    }
    changes.delete(id);
    stored.status = change.outcome;
    if (change.outcome === 'active') options.onBalancerActive?.(balancerView(id));
  };
  /** The balancer after a PUT of `body`, or why the API refuses it (422). */
  const updated = (current: FakeBalancer, body: Record<string, any>): FakeBalancer | string => {
    if (typeof body.region !== 'string') return 'region must be given as a region slug, e.g. ams3';
    if (body.region !== current.region.slug) return `a load balancer cannot move to another region (${current.region.slug})`;
    const ids: unknown = body.droplet_ids ?? [];
    if (!Array.isArray(ids)) return 'droplet_ids must be a list of droplet ids';
    if (body.tag && ids.length > 0) return 'a load balancer may target a tag or droplet ids, not both';
    const unknown = ids.find((id) => !options.droplets.some((d) => d.id === id));
    if (unknown !== undefined) return `droplet ${unknown} does not exist`;
    const next: FakeBalancer = { ...structuredClone(BALANCER_DEFAULTS), ...body } as FakeBalancer;
    for (const attribute of BALANCER_READ_ONLY) next[attribute] = current[attribute];
    next.region = current.region;
    next.status = 'new';
    return next;
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
      const origin = `http://${req.headers.host}`;
      if (req.method === 'GET' && url.pathname === '/v2/droplets') {
        const name = url.searchParams.get('name');
        const tag = url.searchParams.get('tag_name');
        const found = options.droplets.filter((d) => (name === null || d.name === name) && (tag === null || d.tags?.includes(tag))).map((d) => droplet(d.id));
        return send(200, page(url, origin, 'droplets', found));
      }
      if (req.method === 'GET' && url.pathname === '/v2/load_balancers') {
        return send(200, page(url, origin, 'load_balancers', [...balancers.keys()].map(balancerView)));
      }
      if ((m = url.pathname.match(/^\/v2\/load_balancers\/([^/]+)$/))) {
        const id = m[1]!;
        if (!balancers.has(id) || (req.method !== 'GET' && req.method !== 'PUT')) {
          return send(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
        }
        if (req.method === 'GET') {
          tickBalancer(id);
          return send(200, { load_balancer: balancerView(id) });
        }
        if (fake.forbidBalancerPuts) return send(403, { id: 'forbidden', message: 'You do not have access for the attempted action.' });
        if (balancers.get(id)!.status === 'new') return send(403, { id: 'forbidden', message: BUSY_MESSAGE, request_id: 'fake' });
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        balancerPuts.push(body);
        const next = updated(balancers.get(id)!, body);
        if (typeof next === 'string') return send(422, { id: 'unprocessable_entity', message: next });
        balancers.set(id, next);
        changes.set(id, { ticksLeft: options.balancerTicks ?? 2, outcome: fake.nextBalancerOutcome });
        return send(200, { load_balancer: balancerView(id) });
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
    loadBalancers: balancers,
    balancerPuts,
    nextBalancerOutcome: 'active',
    forbidBalancerPuts: false,
    startForeignBalancerChange(id, ticks) {
      balancers.get(id)!.status = 'new';
      changes.set(id, { ticksLeft: ticks, outcome: 'active' });
    },
    balancerView,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
