/**
 * ARM calls for one subscription and resource group, shared by the `azure-appgw` and `azure-ip` providers:
 * JSON with `api-version`; `{error:{code,message}}` turned into UserErrors; 429, 409/429
 * AnotherOperationInProgress / RetryableErrorDueToAnotherOperation, 5xx and network errors retried (the cloud
 * client); PUTs followed to the end of their long-running operation, then until the resource's
 * `provisioningState` settles.
 */
import type { AzureCredentials } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import { type CloudAnswer, createCloudClient } from '../../http/cloud-client.js';
import type { ProviderOptions } from '../provider.js';
import { type AzureTokenSource, azureTiming, createAzureTokenSource } from './token.js';

/** ARM calls. `what` names the resource in messages, e.g. `application gateway gw (AZURE_APP_GATEWAY)`. */
export interface ArmClient {
  /** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{type}/{name}` */
  networkPath(type: string, name: string): string;
  /** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/{type}/{name}` */
  computePath(type: string, name: string): string;
  /** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/{type}/{name}` */
  webPath(type: string, name: string): string;
  /** The time (ms, on the client's clock) an operation starting now must end by. */
  deadline(): number;
  /** GETs a resource; a 404 becomes a UserError saying `what` does not exist. */
  get<T = any>(path: string, apiVersion: string, what: string, deadline?: number): Promise<T>;
  /** GETs a list: `value` of every page, following `nextLink`; a 404 becomes a UserError saying `what` does not exist. */
  list<T = any>(path: string, apiVersion: string, what: string, deadline?: number): Promise<T[]>;
  /** PUTs a resource, follows its long-running operation to the end, and returns the resource as it is then. */
  put<T = any>(path: string, apiVersion: string, body: unknown, what: string, deadline?: number): Promise<T>;
  /** POSTs an action; `pass` statuses are answered to the caller, `busy` ones retried until the deadline. */
  post(path: string, apiVersion: string, body: unknown, what: string, options: { deadline: number; pass?: number[]; busy?: number[] }): Promise<CloudAnswer>;
  /** Follows the long-running operation `started` began (Azure-AsyncOperation or Location) to its end. */
  follow(started: CloudAnswer, label: string, deadline: number): Promise<CloudAnswer>;
}

const BUSY_CODES = new Set(['AnotherOperationInProgress', 'RetryableErrorDueToAnotherOperation']);
const DETAILS_HINT = 'see the resource in the Azure portal (Activity log) for details';

/** Creates the ARM client; pass `tokens` to share a token cache between clients. */
export function createArmClient(azure: AzureCredentials, options: ProviderOptions & { tokens?: AzureTokenSource } = {}): ArmClient {
  const http = createCloudClient({
    service: 'Azure',
    baseUrl: azure.armUrl,
    urlVariable: 'AZURE_ARM_URL',
    statusPage: 'https://azure.status.microsoft',
    console: 'the Azure portal (Activity log)',
    tokens: options.tokens ?? createAzureTokenSource(azure, options),
    secrets: [[azure.clientSecret, 'AZURE_CLIENT_SECRET']],
    // App Service answers some errors with a top-level Code and Message instead.
    errorOf: (body) => ({ code: body?.error?.code ?? body?.Code, message: body?.error?.message ?? body?.Message }),
    busy: (answer) => (answer.status === 409 || answer.status === 429) && BUSY_CODES.has(answer.code ?? ''),
    refusal(answer: CloudAnswer, { what, label }) {
      const said = `${answer.status} ${answer.code ?? `HTTP ${answer.status}`}${answer.message ? `: ${answer.message}` : ''}`;
      if (answer.status === 401 || answer.status === 403) {
        return new UserError(`Azure refused ${label} (${said})`, {
          hint: `give the service principal AZURE_CLIENT_ID (${azure.clientId}) the Network Contributor role on resource group ${azure.resourceGroup}`,
          exitCode: 2,
        });
      }
      if (answer.status === 404) {
        return new UserError(`${what ?? label} does not exist (${said})`, { hint: 'check AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and the resource names', exitCode: 2 });
      }
      return new UserError(`Azure refused ${label} (${said})`, { hint: DETAILS_HINT });
    },
    timing: azureTiming(options),
  });

  const withVersion = (path: string, apiVersion: string) => `${path}?api-version=${encodeURIComponent(apiVersion)}`;

  const resourcePath = (namespace: string, type: string, name: string) =>
    `/subscriptions/${encodeURIComponent(azure.subscriptionId)}/resourceGroups/${encodeURIComponent(azure.resourceGroup)}/providers/${namespace}/${type}/${encodeURIComponent(name)}`;

  const arm: ArmClient = {
    networkPath: (type, name) => resourcePath('Microsoft.Network', type, name),
    computePath: (type, name) => resourcePath('Microsoft.Compute', type, name),
    webPath: (type, name) => resourcePath('Microsoft.Web', type, name),
    deadline: http.deadline,
    async get(path, apiVersion, what, deadline = http.deadline()) {
      return (await http.request({ method: 'GET', url: withVersion(path, apiVersion), what, deadline })).body;
    },
    async list(path, apiVersion, what, deadline = http.deadline()) {
      const items: any[] = [];
      const seen = new Set<string>();
      // `nextLink` is an absolute URL with its own api-version; the client refuses one outside AZURE_ARM_URL's origin.
      for (let url: string | undefined = withVersion(path, apiVersion); url !== undefined && !seen.has(url); ) {
        seen.add(url);
        const body: any = (await http.request({ method: 'GET', url, what, deadline })).body;
        if (Array.isArray(body?.value)) items.push(...body.value);
        url = typeof body?.nextLink === 'string' && body.nextLink !== '' ? body.nextLink : undefined;
      }
      return items;
    },
    post: (path, apiVersion, body, what, { deadline, pass, busy }) =>
      http.request({ method: 'POST', url: withVersion(path, apiVersion), what, json: body, deadline, pass, busy }),
    follow: (started, label, deadline) => http.followOperation(started, { label, deadline }),
    async put(path, apiVersion, body, what, deadline = http.deadline()) {
      const started = await http.request({ method: 'PUT', url: withVersion(path, apiVersion), what, json: body, deadline });
      await http.followOperation(started, { label: `the update of ${what}`, deadline });
      // The resource itself has the last word (a 200 with provisioningState Updating is also a running operation).
      return http.poll({
        label: `the update of ${what}`,
        deadline,
        look: async () => {
          const resource = await arm.get(path, apiVersion, what, deadline);
          const state = String(resource?.properties?.provisioningState ?? 'Succeeded');
          if (state === 'Succeeded') return { done: true, value: resource };
          if (state === 'Failed' || state === 'Canceled') {
            throw new UserError(`Azure reports ${what} in provisioning state ${state} after the update`, { hint: DETAILS_HINT });
          }
          return { done: false, state: `provisioningState ${state}` };
        },
      });
    },
  };
  return arm;
}
