/**
 * Azure sign-in and ARM calls shared by the `azure-appgw` and `azure-ip` providers.
 * - Tokens: client credentials (`POST {authority}/{tenant}/oauth2/v2.0/token`), cached, renewed before they expire.
 * - ARM: JSON with `api-version`; `{error:{code,message}}` turned into UserErrors; 429, 409/429
 *   AnotherOperationInProgress / RetryableErrorDueToAnotherOperation, 5xx and network errors retried honouring
 *   `Retry-After`; PUTs followed to the end of their long-running operation (Azure-AsyncOperation or Location).
 * The client secret and tokens never appear in a message: they travel only in the form body and headers.
 */
import type { AzureCredentials } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import type { ProviderOptions } from './index.js';

export const ARM_SCOPE = 'https://management.azure.com/.default';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Timing {
  pollIntervalMs: number;
  deadlineMs: number;
  requestTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

function timing(options: ProviderOptions): Timing {
  return {
    pollIntervalMs: options.pollIntervalMs ?? 5000,
    deadlineMs: options.deadlineMs ?? 15 * 60_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    sleep: options.sleep ?? defaultSleep,
    now: options.now ?? Date.now,
  };
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), if the answer has one. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Replaces every secret in `text` with a placeholder naming where it came from. */
function redactor(secrets: () => Array<[string, string]>): (text: string) => string {
  return (text) => {
    let out = text;
    for (const [secret, name] of secrets()) if (secret) out = out.split(secret).join(`[${name}]`);
    return out;
  };
}

/** Why a fetch threw, briefly. */
function networkProblem(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(error);
}

export interface AzureTokenSource {
  /** A valid access token: the cached one, or a new one when it is about to expire. */
  token(): Promise<string>;
  /** Forgets the cached token (after ARM answered 401). */
  invalidate(): void;
}

/** Client-credentials tokens for ARM, renewed `min(5 min, a quarter of the lifetime)` before `expires_in` runs out. */
export function createAzureTokenSource(azure: AzureCredentials, options: ProviderOptions = {}): AzureTokenSource {
  const { sleep, now, requestTimeoutMs, pollIntervalMs } = timing(options);
  const url = `${azure.authorityUrl}/${encodeURIComponent(azure.tenantId)}/oauth2/v2.0/token`;
  const redact = redactor(() => [[azure.clientSecret, 'AZURE_CLIENT_SECRET']]);
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: azure.clientId,
      client_secret: azure.clientSecret,
      scope: ARM_SCOPE,
    });
    for (let attempt = 1; ; attempt++) {
      const waitMs = Math.min(pollIntervalMs * 2 ** (attempt - 1), 30_000);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch (error) {
        if (attempt >= 3) {
          throw new UserError(`could not reach the Azure sign-in endpoint ${url}: ${networkProblem(error, requestTimeoutMs)}`, {
            hint: 'check the network (and AZURE_AUTHORITY_URL if set)',
          });
        }
        await sleep(waitMs);
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as {
        access_token?: string;
        expires_in?: number | string;
        error?: string;
        error_description?: string;
      };
      if (response.ok && body.access_token) {
        const lifetimeMs = Number(body.expires_in ?? 3600) * 1000;
        cached = { token: body.access_token, renewAt: now() + lifetimeMs - Math.min(300_000, lifetimeMs / 4) };
        return body.access_token;
      }
      if ((response.status === 429 || response.status >= 500) && attempt < 3) {
        await sleep(retryAfterMs(response.headers, now()) ?? waitMs);
        continue;
      }
      const description = redact((body.error_description ?? '').split(/\r?\n/)[0] ?? '');
      throw new UserError(
        `Azure sign-in failed for client ${azure.clientId} in tenant ${azure.tenantId}: HTTP ${response.status} ${body.error ?? ''}${description ? ` (${description})` : ''}`.replace(
          '  ',
          ' ',
        ),
        {
          hint: 'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (client secrets expire)',
          exitCode: response.status === 400 || response.status === 401 ? 2 : 1,
        },
      );
    }
  }

  return {
    token() {
      if (cached && now() < cached.renewAt) return Promise.resolve(cached.token);
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** One ARM call, as the caller sees it. */
export interface ArmAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** ARM calls for one subscription and resource group. `what` names the resource in messages, e.g. `application gateway "gw" (AZURE_APP_GATEWAY)`. */
export interface ArmClient {
  /** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{type}/{name}` */
  networkPath(type: string, name: string): string;
  /** The time (ms, on the client's clock) an operation starting now must end by. */
  deadline(): number;
  /** GETs a resource; a 404 becomes a UserError saying `what` does not exist. */
  get<T = any>(path: string, apiVersion: string, what: string, deadline?: number): Promise<T>;
  /** PUTs a resource, follows its long-running operation to the end, and returns the resource as it is then. */
  put<T = any>(path: string, apiVersion: string, body: unknown, what: string, deadline?: number): Promise<T>;
}

const BUSY_CODES = new Set(['AnotherOperationInProgress', 'RetryableErrorDueToAnotherOperation']);
const TERMINAL = new Set(['Succeeded', 'Failed', 'Canceled']);

/** Creates the ARM client; pass `tokens` to share a token cache between clients. */
export function createArmClient(azure: AzureCredentials, options: ProviderOptions & { tokens?: AzureTokenSource } = {}): ArmClient {
  const t = timing(options);
  const tokens = options.tokens ?? createAzureTokenSource(azure, options);
  const armOrigin = new URL(azure.armUrl).origin;
  let lastToken = '';
  const redact = redactor(() => [
    [azure.clientSecret, 'AZURE_CLIENT_SECRET'],
    [lastToken, 'access token'],
  ]);

  /** Sends one request with retries; answers 2xx to the caller, throws UserErrors otherwise. */
  async function request(method: string, url: string, what: string, deadline: number, body?: unknown): Promise<ArmAnswer> {
    if (new URL(url).origin !== armOrigin) {
      throw new UserError(`Azure asked to follow ${what} at ${new URL(url).origin}, outside ${armOrigin}; not sending credentials there`, {
        hint: 'check AZURE_ARM_URL',
      });
    }
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      let waitMs = Math.min(t.pollIntervalMs * 2 ** (attempt - 1), 60_000);
      let problem: string;
      let response: Response | undefined;
      const token = await tokens.token();
      lastToken = token;
      try {
        response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(t.requestTimeoutMs),
        });
      } catch (error) {
        problem = networkProblem(error, t.requestTimeoutMs);
      }
      if (response) {
        const text = await response.text();
        let parsed: any = {};
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { error: { code: `HTTP ${response.status}`, message: text.slice(0, 200) } };
        }
        if (response.ok) return { status: response.status, body: parsed, headers: response.headers };
        const code = String(parsed?.error?.code ?? `HTTP ${response.status}`);
        const message = redact(String(parsed?.error?.message ?? '')).split(/\r?\n/)[0];
        const said = `${response.status} ${code}${message ? `: ${message}` : ''}`;
        if (response.status === 401 && !renewed) {
          renewed = true;
          tokens.invalidate();
          continue;
        }
        if (response.status === 401 || response.status === 403) {
          throw new UserError(`Azure refused ${method} ${what} (${said})`, {
            hint: `give the service principal AZURE_CLIENT_ID (${azure.clientId}) the Network Contributor role on resource group ${azure.resourceGroup}`,
            exitCode: 2,
          });
        }
        if (response.status === 404) {
          throw new UserError(`${what} does not exist (${said})`, {
            hint: 'check AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and the resource names',
            exitCode: 2,
          });
        }
        const retryable = response.status === 429 || response.status >= 500 || (response.status === 409 && BUSY_CODES.has(code));
        if (!retryable) {
          throw new UserError(`Azure refused ${method} ${what} (${said})`, {
            hint: 'see the resource in the Azure portal (Activity log) for details',
          });
        }
        problem = response.status === 409 ? `${code} (busy with another operation)` : said;
        waitMs = retryAfterMs(response.headers, t.now()) ?? waitMs;
      }
      if (t.now() + waitMs > deadline) {
        throw new UserError(`gave up on ${method} ${what} after ${attempt} ${attempt === 1 ? 'try' : 'tries'}: ${problem!}`, {
          hint: 'Azure is busy or failing; try again in a few minutes (https://azure.status.microsoft)',
        });
      }
      await t.sleep(waitMs);
    }
  }

  const withVersion = (path: string, apiVersion: string) => `${azure.armUrl}${path}?api-version=${encodeURIComponent(apiVersion)}`;

  /** Waits for the operation a PUT started: Azure-AsyncOperation until a terminal status, or Location until not 202. */
  async function follow(first: ArmAnswer, what: string, deadline: number): Promise<void> {
    const asyncUrl = first.headers.get('azure-asyncoperation');
    const location = first.headers.get('location');
    let answer = first;
    if (asyncUrl) {
      for (;;) {
        await waitPoll(answer, what, deadline, 'InProgress');
        answer = await request('GET', asyncUrl, `the update of ${what}`, deadline);
        const status = String(answer.body?.status ?? '');
        if (status === 'Succeeded') return;
        if (status === 'Failed' || status === 'Canceled') {
          const error = answer.body?.error ?? {};
          throw new UserError(
            `Azure reports the update of ${what} ${status}${error.code ? `: ${error.code}` : ''}${error.message ? `: ${redact(String(error.message))}` : ''}`,
            { hint: 'see the resource in the Azure portal (Activity log) for details' },
          );
        }
      }
    }
    if (location && first.status === 202) {
      while (answer.status === 202) {
        await waitPoll(answer, what, deadline, 'still 202 Accepted');
        answer = await request('GET', location, `the update of ${what}`, deadline);
      }
    }
  }

  async function waitPoll(answer: ArmAnswer, what: string, deadline: number, state: string): Promise<void> {
    const waitMs = retryAfterMs(answer.headers, t.now()) ?? t.pollIntervalMs;
    if (t.now() + waitMs > deadline) {
      const status = answer.body?.status ?? state;
      throw new UserError(`the update of ${what} did not finish in time (operation status: ${status})`, {
        hint: 'it may still finish: see the resource in the Azure portal before trying again',
      });
    }
    await t.sleep(waitMs);
  }

  const client: ArmClient = {
    networkPath: (type, name) =>
      `/subscriptions/${encodeURIComponent(azure.subscriptionId)}/resourceGroups/${encodeURIComponent(azure.resourceGroup)}/providers/Microsoft.Network/${type}/${encodeURIComponent(name)}`,
    deadline: () => t.now() + t.deadlineMs,
    async get(path, apiVersion, what, deadline = client.deadline()) {
      return (await request('GET', withVersion(path, apiVersion), what, deadline)).body;
    },
    async put(path, apiVersion, body, what, deadline = client.deadline()) {
      const first = await request('PUT', withVersion(path, apiVersion), what, deadline, body);
      await follow(first, what, deadline);
      // The resource itself has the last word (a 200 with provisioningState Updating is also a running operation).
      for (;;) {
        const resource = await client.get(path, apiVersion, what, deadline);
        const state = String(resource?.properties?.provisioningState ?? 'Succeeded');
        if (state === 'Succeeded') return resource;
        if (TERMINAL.has(state)) {
          throw new UserError(`Azure reports ${what} in provisioning state ${state} after the update`, {
            hint: 'see the resource in the Azure portal (Activity log) for details',
          });
        }
        await waitPoll({ status: 200, body: { status: `provisioningState ${state}` }, headers: new Headers() }, what, deadline, state);
      }
    },
  };
  return client;
}
