/**
 * The DigitalOcean API (Bearer token, JSON, errors `{id, message}`) on the cloud client: 401 names
 * DIGITALOCEAN_TOKEN, 403 and other refusals take the provider's hints. The token only ever travels in the
 * Authorization header and is redacted from every message.
 */
import { UserError } from '../../../core/errors.js';
import { type CloudClient, cloudTiming, createCloudClient } from '../../http/cloud-client.js';
import type { ProviderOptions } from '../provider.js';

export interface DigitalOceanAccess {
  /** `DIGITALOCEAN_TOKEN` */
  token: string;
  /** `DIGITALOCEAN_API_URL` */
  apiUrl: string;
}

/** What the provider tells people when DigitalOcean refuses a call. */
export interface DigitalOceanHints {
  /** For a 403: the access the token needs. */
  forbidden: string;
  /** For any other 4xx the provider does not handle itself: the settings to check. */
  refused: string;
}

/** A client for the DigitalOcean API; requests take paths (`/v2/droplets?name=web-01`). */
export function createDigitalOceanApi(access: DigitalOceanAccess, options: ProviderOptions, hints: DigitalOceanHints): CloudClient {
  return createCloudClient({
    service: 'DigitalOcean',
    baseUrl: access.apiUrl,
    urlVariable: 'DIGITALOCEAN_API_URL',
    statusPage: 'https://status.digitalocean.com',
    console: 'the DigitalOcean control panel',
    tokens: { token: async () => access.token },
    secrets: [[access.token, 'DIGITALOCEAN_TOKEN']],
    errorOf: (body) => ({ code: body?.id, message: body?.message }),
    refusal(answer, { method, path }) {
      if (answer.status === 401) {
        return new UserError(`DigitalOcean rejected the API token (401 unauthorized: ${answer.message})`, {
          hint: 'set DIGITALOCEAN_TOKEN to a valid personal access token with write scope',
          exitCode: 2,
        });
      }
      if (answer.status === 403) {
        return new UserError(`DigitalOcean refused ${method} ${path} (403 forbidden: ${answer.message})`, { hint: hints.forbidden, exitCode: 2 });
      }
      return new UserError(`DigitalOcean refused ${method} ${path}: HTTP ${answer.status}${answer.code ? ` ${answer.code}` : ''}: ${answer.message}`, {
        hint: hints.refused,
      });
    },
    timing: cloudTiming(options, { pollIntervalMs: 2000, deadlineMs: 180_000, requestTimeoutMs: 30_000 }),
  });
}
