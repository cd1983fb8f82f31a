/**
 * The `digitalocean` provider: production is a reserved IP; moving traffic assigns it to the other droplet.
 * API facts (see DESIGN.md): assign is an action polled until `completed`/`errored`; the action GET may 404
 * (bring-your-own IPs), then the reserved IP itself is read; 422 "pending event" while another action runs.
 * Retries, rate limits and the token are the API client's business (./api.ts).
 */
import { COLOURS, type Colour } from '../../../core/colour.js';
import type { ProviderConfig } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import type { CloudAnswer } from '../../http/cloud-client.js';
import type { Provider, ProviderOptions } from '../provider.js';
import { createDigitalOceanApi } from './api.js';
import { dropletId } from './droplets.js';

type DigitalOceanConfig = Extract<ProviderConfig, { kind: 'digitalocean' }>;

interface ReservedIp {
  ip: string;
  droplet: { id: number; name: string } | null;
  locked?: boolean;
}
interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
}

/** Creates the provider; droplets may be given by id or by name (resolved once, on first use). */
export function createDigitalOceanProvider(config: DigitalOceanConfig, options: ProviderOptions = {}): Provider {
  const api = createDigitalOceanApi(config, options, {
    forbidden: 'give the token in DIGITALOCEAN_TOKEN write access to reserved IPs and read access to droplets',
    refused: 'check BLUEGREEN_RESERVED_IP, BLUE_DROPLET and GREEN_DROPLET',
  });
  const { now, pollIntervalMs, requestTimeoutMs } = api.timing;
  const ip = config.reservedIp;
  const description = `digitalocean reserved IP ${ip}`;

  let dropletIds: Promise<Record<Colour, number>> | undefined;
  /** Droplet ids by colour. */
  function droplets(deadline: number): Promise<Record<Colour, number>> {
    dropletIds ??= (async () => {
      const ids = {} as Record<Colour, number>;
      for (const colour of COLOURS) ids[colour] = await dropletId(api, config.droplets[colour], `${colour.toUpperCase()}_DROPLET`, deadline);
      if (ids.blue === ids.green) {
        throw new UserError(`BLUE_DROPLET and GREEN_DROPLET are the same droplet (id ${ids.blue})`, {
          hint: 'blue and green must be two different droplets',
          exitCode: 2,
        });
      }
      return ids;
    })();
    dropletIds.catch(() => {
      dropletIds = undefined;
    });
    return dropletIds;
  }

  async function readReservedIp(deadline: number): Promise<ReservedIp> {
    const answer = await api.request({ method: 'GET', url: `/v2/reserved_ips/${ip}`, deadline, pass: [404] });
    if (answer.status === 404) {
      throw new UserError(`DigitalOcean has no reserved IP ${ip} (404 not_found)`, {
        hint: 'set BLUEGREEN_RESERVED_IP to a reserved IP of this account (`doctl compute reserved-ip list`)',
        exitCode: 2,
      });
    }
    return answer.body.reserved_ip as ReservedIp;
  }

  function colourOf(reserved: ReservedIp, ids: Record<Colour, number>): Colour | undefined {
    return COLOURS.find((colour) => reserved.droplet?.id === ids[colour]);
  }

  /** Where the IP points, for people: `blue (droplet 1 web-01)`, `nothing (unassigned)`, `droplet 9 web-09, neither blue nor green`. */
  function where(reserved: ReservedIp, ids: Record<Colour, number>): string {
    if (!reserved.droplet) return 'nothing (unassigned)';
    const colour = colourOf(reserved, ids);
    const droplet = `droplet ${reserved.droplet.id}${reserved.droplet.name ? ` ${reserved.droplet.name}` : ''}`;
    return colour ? `${colour} (${droplet})` : `${droplet}, neither blue nor green`;
  }

  /** Best effort, for failure messages: where the IP points right now. */
  async function whereNow(ids: Record<Colour, number>): Promise<string> {
    try {
      return `it points at ${where(await readReservedIp(now() + Math.max(pollIntervalMs, requestTimeoutMs)), ids)}`;
    } catch (error) {
      return `where it points now could not be read (${(error as Error).message})`;
    }
  }

  return {
    description,

    async liveColour() {
      const deadline = api.deadline();
      const ids = await droplets(deadline);
      return colourOf(await readReservedIp(deadline), ids);
    },

    async moveTraffic(colour, say) {
      const started = now();
      const deadline = api.deadline();
      const ids = await droplets(deadline);
      const target = ids[colour];
      const giveUp = async (why: string) =>
        new UserError(`${why}; gave up after ${Math.round((now() - started) / 1000)} s: ${await whereNow(ids)}`, {
          hint: `see the reserved IP in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
        });

      // Assign, waiting out another action (a locked IP, or the POST's 422 pending event) until the deadline.
      const action = await api.poll<Action | undefined>({
        label: `the assign of ${ip} to ${colour}`,
        deadline,
        timedOut: () => giveUp(`${description} stayed busy with another action`),
        look: async () => {
          const reserved = await readReservedIp(deadline);
          if (reserved.droplet?.id === target) {
            say(`${description} already points at ${where(reserved, ids)}`);
            return { done: true, value: undefined };
          }
          if (!reserved.locked) {
            say(`${description} points at ${where(reserved, ids)}; assigning it to ${colour} (droplet ${target})`);
            const answer = await api.request({ method: 'POST', url: `/v2/reserved_ips/${ip}/actions`, json: { type: 'assign', droplet_id: target }, deadline, pass: [422] });
            if (answer.status !== 422) return { done: true, value: answer.body?.action as Action };
            if (!/pending event/i.test(answer.message)) {
              throw new UserError(`DigitalOcean refused to assign ${ip} to droplet ${target} (${answer.status} ${answer.code ?? ''}: ${answer.message})`, {
                hint: 'the droplet must be in the same region as the reserved IP',
              });
            }
          }
          say(`${description} is busy with another action; waiting`);
          return { done: false };
        },
      });
      if (!action) return;

      // Wait for the action; if its GET 404s, watch the reserved IP itself.
      const following = `the assign of ${ip} to ${colour} (action ${action.id})`;
      let watchIp = false;
      let latest: Action['status'] | undefined = action.status;
      /** One read of the action (or of the IP, once the action cannot be read); an API failure gives up saying where the IP points. */
      const read = async (): Promise<void> => {
        try {
          if (watchIp) {
            latest = (await readReservedIp(deadline)).droplet?.id === target ? 'completed' : 'in-progress';
            return;
          }
          const answer: CloudAnswer = await api.request({ method: 'GET', url: `/v2/reserved_ips/${ip}/actions/${action.id}`, deadline, pass: [404] });
          if (answer.status !== 404) {
            latest = (answer.body?.action as Action | undefined)?.status;
            return;
          }
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          throw await giveUp(`could not follow ${following}: ${error.message}`);
        }
        say(`action ${action.id} cannot be read (404); watching the reserved IP instead`);
        watchIp = true;
        return read();
      };
      let first = true;
      await api.poll({
        label: following,
        deadline,
        timedOut: () => giveUp(`${following} did not finish`),
        look: async () => {
          if (!first) await read();
          first = false;
          if (latest === 'errored') {
            throw new UserError(`DigitalOcean reports ${following} errored: ${await whereNow(ids)}`, {
              hint: `see the action in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
            });
          }
          return latest === 'completed' ? { done: true, value: undefined } : { done: false };
        },
      });
      say(`${description} now points at ${colour} (droplet ${target})`);
    },

    async close() {},
  };
}
