/**
 * A fake Azure (sign-in + ARM) on 127.0.0.1: client-credentials tokens (short-lived if asked), application
 * gateways and network interfaces with GET/PUT whose changes apply only when their long-running operation
 * completes (Azure-AsyncOperation or Location style), scale sets' network interfaces (listed in pages; tests
 * add and remove instances between calls), and the error answers from DESIGN.md, switchable per test.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type OperationOutcome = 'Succeeded' | 'Failed' | 'Canceled' | 'never';

export interface FakeAzureOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Token lifetime in seconds (`expires_in`). */
  tokenLifetimeS?: number;
  /** The clock tokens expire by; share the provider's virtual clock. */
  now?: () => number;
  gateways?: Record<string, any>;
  nics?: Record<string, any>;
  /** Scale sets: name → each instance's private IPv4 address, in instance order. */
  scaleSets?: Record<string, string[]>;
  /** Network interfaces per page of a scale set's list (default 50; more follow through `nextLink`). */
  pageSize?: number;
  /** Polls an operation stays InProgress. */
  polls?: number;
  /** The Retry-After (seconds) an operation in progress answers with; default 10, as Azure often says. */
  operationRetryAfterS?: number;
  /** Called after a PUT's change is applied: re-point the forwarder standing for production. */
  onChange?: () => void;
}

interface Operation {
  id: string;
  kind: 'gateway' | 'nic';
  name: string;
  pollsLeft: number;
  outcome: OperationOutcome;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  apply: () => void;
}

export interface FakeAzure {
  url: string;
  gateways: Record<string, any>;
  nics: Record<string, any>;
  /** Scale sets as stored: change an array to add or remove instances. */
  scaleSets: Record<string, string[]>;
  /** Every request as `METHOD /path` (no query). */
  requests: string[];
  /** Tokens issued so far. */
  tokensIssued: () => number;
  /** `async` (Azure-AsyncOperation, the default), `location` (202 + Location), or `state` (200, then
   *  the resource's provisioningState moves on as it is read; a failed update leaves it `Failed`). */
  lroStyle: 'async' | 'location' | 'state';
  /** How the next operations end, in order; when empty, `Succeeded`. */
  outcomes: OperationOutcome[];
  /** Next N ARM requests answer 429 with this Retry-After. */
  throttleNext(count: number, retryAfter: string): void;
  /** Next N PUTs answer 409 (or 429) with this code. */
  busyNext(count: number, code?: string, status?: number): void;
  /** Next N ARM requests answer this status with an ARM error body. */
  failNext(count: number, status: number, code: string, message?: string): void;
  /** Operation polling URLs point at this origin instead (a misbehaving server). */
  pollOrigin: string | undefined;
  /** The access tokens ARM accepts are revoked (next ARM call answers 401 until a new token is fetched). */
  revokeTokens(): void;
  close(): Promise<void>;
}

export function resourceId(sub: string, rg: string, type: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/${type}/${name}`;
}

/** A gateway body like ARM's, with pools and basic rules (`{name, pool}`). */
export function appGateway(sub: string, rg: string, name: string, pools: string[], rules: Array<{ name: string; pool?: string }>): any {
  const id = resourceId(sub, rg, 'applicationGateways', name);
  return {
    id,
    name,
    type: 'Microsoft.Network/applicationGateways',
    location: 'westeurope',
    etag: 'W/"1"',
    properties: {
      provisioningState: 'Succeeded',
      sku: { name: 'Standard_v2', tier: 'Standard_v2', capacity: 2 },
      backendAddressPools: pools.map((pool) => ({ id: `${id}/backendAddressPools/${pool}`, name: pool, properties: { backendAddresses: [] } })),
      requestRoutingRules: rules.map((rule) => ({
        id: `${id}/requestRoutingRules/${rule.name}`,
        name: rule.name,
        properties: {
          ruleType: rule.pool ? 'Basic' : 'PathBasedRouting',
          priority: 100,
          ...(rule.pool ? { backendAddressPool: { id: `${id}/backendAddressPools/${rule.pool}` } } : { urlPathMap: { id: `${id}/urlPathMaps/paths` } }),
        },
      })),
    },
  };
}

/** A NIC body like ARM's with one primary ip configuration, optionally holding `publicIp`. */
export function networkInterface(sub: string, rg: string, name: string, publicIp?: string): any {
  const id = resourceId(sub, rg, 'networkInterfaces', name);
  return {
    id,
    name,
    type: 'Microsoft.Network/networkInterfaces',
    location: 'westeurope',
    properties: {
      provisioningState: 'Succeeded',
      ipConfigurations: [
        {
          id: `${id}/ipConfigurations/ipconfig1`,
          name: 'ipconfig1',
          properties: {
            primary: true,
            privateIPAddress: '10.0.0.4',
            subnet: { id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default` },
            ...(publicIp ? { publicIPAddress: { id: resourceId(sub, rg, 'publicIPAddresses', publicIp) } } : {}),
          },
        },
      ],
    },
  };
}

/** A scale set instance's network interface as ARM lists it (the instance's primary NIC, one ip configuration). */
export function scaleSetNic(sub: string, rg: string, vmss: string, instance: number, privateIp: string): any {
  const vm = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${instance}`;
  const id = `${vm}/networkInterfaces/${vmss}-nic`;
  return {
    id,
    name: `${vmss}-nic`,
    properties: {
      provisioningState: 'Succeeded',
      primary: true,
      virtualMachine: { id: vm },
      ipConfigurations: [
        {
          id: `${id}/ipConfigurations/${vmss}-ipconfig`,
          name: `${vmss}-ipconfig`,
          properties: { primary: true, privateIPAddress: privateIp, privateIPAllocationMethod: 'Dynamic', subnet: { id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default` } },
        },
      ],
    },
  };
}

const armError = (code: string, message: string) => ({ error: { code, message } });

export async function startFakeAzure(options: FakeAzureOptions): Promise<FakeAzure> {
  const now = options.now ?? Date.now;
  const gateways: Record<string, any> = options.gateways ?? {};
  const nics: Record<string, any> = options.nics ?? {};
  const scaleSets: Record<string, string[]> = options.scaleSets ?? {};
  const computePrefix = `/subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/`;
  const requests: string[] = [];
  const tokens = new Map<string, number>(); // token → expires at
  const operations = new Map<string, Operation>();
  let issued = 0;
  const operationRetryAfter = String(options.operationRetryAfterS ?? 10);
  let throttle = { count: 0, retryAfter: '1' };
  let busy = { count: 0, code: 'AnotherOperationInProgress', status: 409 };
  let failures = { count: 0, status: 500, code: 'InternalServerError', message: 'An error occurred.' };
  const prefix = `/subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}/providers/Microsoft.Network/`;

  const running = (kind: Operation['kind'], name: string) =>
    [...operations.values()].find((op) => op.kind === kind && op.name === name && op.status === 'InProgress');
  const tick = (op: Operation) => {
    if (op.status !== 'InProgress' || op.outcome === 'never') return;
    if (op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      return;
    }
    op.status = op.outcome;
    const store = op.kind === 'gateway' ? gateways : nics;
    store[op.name].properties.provisioningState = op.outcome === 'Succeeded' ? 'Succeeded' : 'Failed';
    if (op.outcome === 'Succeeded') {
      op.apply();
      options.onChange?.();
    } else if (fake.lroStyle !== 'state') {
      store[op.name].properties.provisioningState = 'Succeeded'; // a failed update leaves the old state in force
    }
  };
  const publicIpHolder = (publicIpId: string, except: string) =>
    Object.values(nics).find(
      (nic: any) =>
        nic.name !== except &&
        nic.properties.ipConfigurations.some((c: any) => c.properties.publicIPAddress?.id?.toLowerCase() === publicIpId.toLowerCase()),
    );

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push(`${req.method} ${url.pathname}`);
      const text = Buffer.concat(chunks).toString('utf8');

      // Sign-in.
      if (req.method === 'POST' && url.pathname === `/${options.tenantId}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(text);
        if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'https://management.azure.com/.default') {
          return send(400, { error: 'invalid_request', error_description: 'AADSTS900144: bad grant_type or scope.' });
        }
        if (form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) {
          return send(401, {
            error: 'invalid_client',
            error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1`,
          });
        }
        const token = `eyJfake.${randomBytes(12).toString('hex')}`;
        const lifetime = options.tokenLifetimeS ?? 3600;
        tokens.set(token, now() + lifetime * 1000);
        issued += 1;
        return send(200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
      }
      if (url.pathname.includes('/oauth2/')) return send(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant not found.` });

      // ARM.
      if (!url.searchParams.get('api-version')) return send(400, armError('MissingApiVersionParameter', 'The api-version query parameter is required.'));
      const auth = req.headers.authorization ?? '';
      const expiresAt = tokens.get(auth.replace(/^Bearer /, ''));
      if (expiresAt === undefined) return send(401, armError('InvalidAuthenticationToken', 'The access token is invalid.'));
      if (now() >= expiresAt) return send(401, armError('ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.'));
      if (throttle.count > 0) {
        throttle.count -= 1;
        return send(429, armError('TooManyRequests', 'Too many requests.'), { 'retry-after': throttle.retryAfter });
      }
      if (failures.count > 0) {
        failures.count -= 1;
        return send(failures.status, armError(failures.code, failures.message));
      }

      let m: RegExpMatchArray | null;
      if ((m = url.pathname.match(/\/locations\/westeurope\/(operations|operationResults)\/([^/]+)$/))) {
        const op = operations.get(m[2]!);
        if (!op) return send(404, armError('NotFound', 'Operation not found.'));
        tick(op);
        if (m[1] === 'operations') {
          const body: any = { status: op.status };
          if (op.status === 'Failed') body.error = { code: 'InternalServerError', message: 'The operation failed: the backend did not answer.' };
          if (op.status === 'Canceled') body.error = { code: 'OperationCanceled', message: 'The operation was canceled.' };
          return send(200, body, op.status === 'InProgress' ? { 'retry-after': operationRetryAfter } : {});
        }
        if (op.status === 'InProgress') return send(202, undefined, { location: opUrl(op, 'operationResults'), 'retry-after': operationRetryAfter });
        if (op.status === 'Succeeded') return send(204, undefined);
        return send(500, armError('InternalServerError', 'The operation failed.'));
      }
      if (req.method === 'GET' && (m = url.pathname.slice(computePrefix.length).match(/^([^/]+)\/networkInterfaces$/)) && url.pathname.startsWith(computePrefix)) {
        const vmss = m[1]!;
        const instances = scaleSets[vmss];
        if (!instances) return send(404, armError('ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${vmss}' under resource group '${options.resourceGroup}' was not found.`));
        const size = options.pageSize ?? 50;
        const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
        const value = instances.slice(skip, skip + size).map((ip, i) => scaleSetNic(options.subscriptionId, options.resourceGroup, vmss, skip + i, ip));
        const next = new URL(url.pathname, base);
        next.searchParams.set('api-version', url.searchParams.get('api-version')!);
        next.searchParams.set('$skiptoken', String(skip + size));
        return send(200, { value, ...(skip + size < instances.length ? { nextLink: next.href } : {}) });
      }
      if (!url.pathname.startsWith(prefix)) return send(404, armError('ResourceGroupNotFound', 'Resource group not found.'));
      const [type, name, ...rest] = url.pathname.slice(prefix.length).split('/');
      const kind = type === 'applicationGateways' ? 'gateway' : type === 'networkInterfaces' ? 'nic' : undefined;
      const store = kind === 'gateway' ? gateways : nics;
      if (!kind || !name || rest.length > 0) return send(404, armError('NotFound', 'No such resource type.'));
      const resource = store[name];
      if (!resource) return send(404, armError('ResourceNotFound', `The Resource 'Microsoft.Network/${type}/${name}' under resource group '${options.resourceGroup}' was not found.`));
      if (req.method === 'GET') {
        const op = running(kind, name);
        if (op && fake.lroStyle === 'state') tick(op);
        return send(200, store[name]);
      }
      if (req.method !== 'PUT') return send(405, armError('MethodNotAllowed', 'Not allowed.'));
      if (busy.count > 0) {
        busy.count -= 1;
        return send(busy.status, armError(busy.code, `Operation on ${name} cannot proceed: another operation is in progress.`), { 'retry-after': '3' });
      }
      if (running(kind, name)) return send(409, armError('AnotherOperationInProgress', `Another operation on this or dependent resource is in progress.`));
      const desired = JSON.parse(text);
      if (kind === 'nic') {
        for (const c of desired.properties?.ipConfigurations ?? []) {
          const id = c.properties?.publicIPAddress?.id;
          const holder = id && publicIpHolder(id, name);
          if (holder) {
            return send(
              400,
              armError('PublicIPAddressInUse', `Resource ${id} is in use by ${holder.id}/ipConfigurations/ipconfig1 and cannot be referenced by ${resource.id}.`),
            );
          }
        }
      }
      const op: Operation = {
        id: randomBytes(6).toString('hex'),
        kind,
        name,
        pollsLeft: options.polls ?? 2,
        outcome: fake.outcomes.shift() ?? 'Succeeded',
        status: 'InProgress',
        apply: () => {
          desired.properties.provisioningState = 'Succeeded';
          store[name] = desired;
        },
      };
      operations.set(op.id, op);
      resource.properties.provisioningState = 'Updating';
      const answer = { ...desired, properties: { ...desired.properties, provisioningState: 'Updating' } };
      if (fake.lroStyle === 'state') return send(200, answer);
      if (fake.lroStyle === 'location') return send(202, undefined, { location: opUrl(op, 'operationResults'), 'retry-after': operationRetryAfter });
      return send(201, answer, { 'azure-asyncoperation': opUrl(op, 'operations'), 'retry-after': operationRetryAfter });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const opUrl = (op: Operation, kind: string) =>
    `${fake.pollOrigin ?? base}/subscriptions/${options.subscriptionId}/providers/Microsoft.Network/locations/westeurope/${kind}/${op.id}?api-version=2024-05-01`;

  const fake: FakeAzure = {
    url: base,
    gateways,
    nics,
    scaleSets,
    requests,
    tokensIssued: () => issued,
    lroStyle: 'async',
    outcomes: [],
    pollOrigin: undefined,
    throttleNext(count, retryAfter) {
      throttle = { count, retryAfter };
    },
    busyNext(count, code = 'AnotherOperationInProgress', status = 409) {
      busy = { count, code, status };
    },
    failNext(count, status, code, message = 'An error occurred.') {
      failures = { count, status, code, message };
    },
    revokeTokens() {
      tokens.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
