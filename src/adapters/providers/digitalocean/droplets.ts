/** Droplets named in settings (`BLUE_DROPLET=web-01` or `=123456`), resolved to ids. */
import { UserError } from '../../../core/errors.js';
import type { CloudClient } from '../../http/cloud-client.js';

interface Droplet {
  id: number;
  name: string;
}

/** The id of the droplet `given` (an id, or a name looked up with `GET /v2/droplets?name=`); `variable` is the setting, for messages. */
export async function dropletId(api: CloudClient, given: string, variable: string, deadline: number): Promise<number> {
  if (/^\d+$/.test(given)) return Number(given);
  const answer = await api.request({ method: 'GET', url: `/v2/droplets?name=${encodeURIComponent(given)}`, deadline });
  const found: Droplet[] = Array.isArray(answer.body?.droplets) ? answer.body.droplets : [];
  const matching = found.filter((d) => d.name === given);
  if (matching.length === 0) {
    throw new UserError(`no droplet is named ${JSON.stringify(given)} (${variable})`, {
      hint: `set ${variable} to the droplet's name or id as shown by \`doctl compute droplet list\``,
      exitCode: 2,
    });
  }
  if (matching.length > 1) {
    throw new UserError(`${matching.length} droplets are named ${JSON.stringify(given)} (${variable}): ids ${matching.map((d) => d.id).join(', ')}`, {
      hint: `set ${variable} to the id of the one you mean`,
      exitCode: 2,
    });
  }
  return matching[0]!.id;
}
