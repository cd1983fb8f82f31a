/**
 * Azure sign-in: client-credentials tokens for ARM (`POST {authority}/{tenant}/oauth2/v2.0/token`), cached and
 * renewed `min(5 min, a quarter of the lifetime)` before `expires_in` runs out, or at once after `invalidate()`
 * (ARM answered 401). The client secret travels only in the form body and never appears in a message.
 */
import type { AzureCredentials } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import { type BearerTokens, type CloudTiming, cloudTiming, createCloudClient } from '../../http/cloud-client.js';
import type { ProviderOptions } from '../provider.js';

const ARM_SCOPE = 'https://management.azure.com/.default';

/** Azure's timing: gateway updates take minutes. */
export function azureTiming(options: ProviderOptions): CloudTiming {
  return cloudTiming(options, { pollIntervalMs: 5000, deadlineMs: 15 * 60_000, requestTimeoutMs: 60_000 });
}

/** Tokens for ARM; `token()` is shared by concurrent callers (one sign-in at a time). */
export type AzureTokenSource = Required<BearerTokens>;

export function createAzureTokenSource(azure: AzureCredentials, options: ProviderOptions = {}): AzureTokenSource {
  const timing = azureTiming(options);
  const path = `/${encodeURIComponent(azure.tenantId)}/oauth2/v2.0/token`;
  const failed = (detail: string, exitCode: 1 | 2) =>
    new UserError(`Azure sign-in failed for client ${azure.clientId} in tenant ${azure.tenantId}: ${detail}`, {
      hint: 'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (client secrets expire)',
      exitCode,
    });
  const signIn = createCloudClient({
    service: 'Azure',
    baseUrl: azure.authorityUrl,
    urlVariable: 'AZURE_AUTHORITY_URL',
    statusPage: 'https://azure.status.microsoft',
    console: 'the Azure portal (Microsoft Entra ID, App registrations)',
    secrets: [[azure.clientSecret, 'AZURE_CLIENT_SECRET']],
    errorOf: (body) => ({ code: body?.error, message: body?.error_description }),
    refusal: (answer) =>
      failed(`HTTP ${answer.status}${answer.code ? ` ${answer.code}` : ''}${answer.message ? ` (${answer.message})` : ''}`, answer.status === 400 || answer.status === 401 ? 2 : 1),
    maxAttempts: 3,
    timing,
  });
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const answer = await signIn.request<{ access_token?: string; expires_in?: number | string }>({
      method: 'POST',
      url: path,
      what: `${azure.authorityUrl}${path} (Azure sign-in)`,
      form: new URLSearchParams({ grant_type: 'client_credentials', client_id: azure.clientId, client_secret: azure.clientSecret, scope: ARM_SCOPE }),
    });
    const token = answer.body.access_token;
    if (!token) throw failed(`HTTP ${answer.status} without an access token`, 1);
    const lifetimeMs = Number(answer.body.expires_in ?? 3600) * 1000;
    cached = { token, renewAt: timing.now() + lifetimeMs - Math.min(300_000, lifetimeMs / 4) };
    return token;
  }

  return {
    token() {
      if (cached && timing.now() < cached.renewAt) return Promise.resolve(cached.token);
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
