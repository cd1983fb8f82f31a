/**
 * A slot's Kudu (its `Repository` host, Bearer token with the ARM scope): zip deploy
 * (`POST /api/zipdeploy?isAsync=true` → 202 `Location: /api/deployments/latest`), polled until the deployment's
 * status is 4 (success) or 3 (failed). A 409 (another deployment running) is waited out until `busyDeadline`.
 */
import type { Readable } from 'node:stream';
import type { AzureCredentials } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import { cloudTiming, createCloudClient } from '../../http/cloud-client.js';
import { retryAfterMs } from '../../http/retry-after.js';
import type { ProviderOptions } from '../provider.js';
import type { AzureTokenSource } from './token.js';

const STATUS_NAMES: Record<number, string> = { 0: 'pending', 1: 'building', 2: 'deploying', 3: 'failed', 4: 'success' };

export interface ZipDeployOptions {
  /** Opens the zip (once per try). */
  open(): Readable | Promise<Readable>;
  /** How long a deploy waits for another deployment on the slot (409) before giving up. */
  busyMs: number;
  say(line: string): void;
}

export interface Kudu {
  zipDeploy(options: ZipDeployOptions): Promise<void>;
}

export function createKudu(where: { scmHost: string; slotName: string }, azure: AzureCredentials, tokens: AzureTokenSource, options: ProviderOptions = {}): Kudu {
  const timing = cloudTiming(options, { pollIntervalMs: 2000, deadlineMs: 30 * 60_000, requestTimeoutMs: 60_000 });
  const base = `https://${where.scmHost}`;
  const what = `the zip deploy to slot ${where.slotName}`;
  const http = createCloudClient({
    service: 'Azure App Service (Kudu)',
    baseUrl: base,
    urlVariable: 'BLUEGREEN_CONNECT_TO',
    statusPage: 'https://azure.status.microsoft',
    console: `the Azure portal (the slot's Deployment Center, or ${base}/api/deployments)`,
    tokens,
    secrets: [[azure.clientSecret, 'AZURE_CLIENT_SECRET']],
    errorOf: (body) => ({ code: body?.Code ?? body?.error?.code, message: body?.Message ?? body?.error?.message }),
    refusal(answer, { label }) {
      const said = `HTTP ${answer.status}${answer.message ? `: ${answer.message}` : ''}`;
      if (answer.status === 401 || answer.status === 403) {
        return new UserError(`Kudu of slot ${where.slotName} refused ${label} (${said})`, {
          hint: `give the service principal AZURE_CLIENT_ID (${azure.clientId}) the Website Contributor role on the app, and allow SCM basic-auth-free (Entra ID) access`,
          exitCode: 2,
        });
      }
      return new UserError(`Kudu of slot ${where.slotName} refused ${label} (${said})`, { hint: `see ${base}/api/deployments for details` });
    },
    timing,
  });

  return {
    async zipDeploy({ open, busyMs, say }) {
      const started = await http.request({
        method: 'POST',
        url: '/api/zipdeploy?isAsync=true',
        what: `${base}/api/zipdeploy`,
        stream: { open, contentType: 'application/zip' },
        busy: [409],
        deadline: timing.now() + busyMs,
      });
      const pollUrl = started.headers.get('location') ?? '/api/deployments/latest';
      let said = '';
      await http.poll({
        label: what,
        deadline: http.deadline(),
        look: async () => {
          const answer = await http.request({ method: 'GET', url: pollUrl, what: `${base}/api/deployments/latest`, pass: [202] });
          const status = Number(answer.body?.status);
          const text = String(answer.body?.status_text ?? '').split(/\r?\n/)[0] ?? '';
          if (status === 3) {
            const log = typeof answer.body?.log_url === 'string' ? answer.body.log_url : `${base}/api/deployments/latest/log`;
            throw new UserError(`${what} failed${text ? `: ${http.redact(text)}` : ''} (log: ${log})`, {
              hint: `read the deployment log at ${log}, fix the build, and push again`,
            });
          }
          if (status === 4 && answer.status === 200) return { done: true, value: undefined };
          const line = `Kudu: ${STATUS_NAMES[status] ?? `status ${answer.body?.status ?? 'unknown'}`}${text ? ` (${http.redact(text)})` : ''}`;
          if (line !== said) say(line);
          said = line;
          return { done: false, waitMs: retryAfterMs(answer.headers, timing.now()), state: STATUS_NAMES[status] };
        },
      });
    },
  };
}
