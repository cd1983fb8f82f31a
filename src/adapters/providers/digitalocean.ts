/**
 * The `digitalocean` provider: production is a reserved IP; moving traffic assigns it to the other droplet.
 * API facts (see DESIGN.md): assign is an action polled until `completed`/`errored`; the action GET may 404
 * (bring-your-own IPs), then the reserved IP itself is read; 422 "pending event" while another action runs;
 * 429 with `retry-after` / `ratelimit-reset`. The token only ever travels in the Authorization header.
 */
import { COLOURS, type Colour } from '../../core/colour.js';
import type { ProviderConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import type { ProviderOptions } from './index.js';
import type { Provider } from './provider.js';

type DigitalOceanConfig = Extract<ProviderConfig, { kind: 'digitalocean' }>;

interface Droplet {
  id: number;
  name: string;
}
interface ReservedIp {
  ip: string;
  droplet: Droplet | null;
  locked?: boolean;
}
interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type?: string;
}
interface ApiAnswer {
  status: number;
  body: any;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds to wait as the API asks: `retry-after` (seconds or a date), else `ratelimit-reset` (epoch seconds). */
function rateLimitWaitMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('ratelimit-reset');
  if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

/** Creates the provider; droplets may be given by id or by name (resolved once, on first use). */
export function createDigitalOceanProvider(config: DigitalOceanConfig, options: ProviderOptions = {}): Provider {
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const deadlineMs = options.deadlineMs ?? 180_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const ip = config.reservedIp;
  const description = `digitalocean reserved IP ${ip}`;
  /** Never let the token reach a message, whatever the API or the network library put in theirs. */
  const redact = (text: string) => (config.token ? text.split(config.token).join('[DIGITALOCEAN_TOKEN]') : text);

  /** One API call with the retries every call deserves (429, 5xx, network); answers 2xx and the statuses in `pass` to the caller. */
  async function call(method: string, path: string, deadline: number, pass: number[], body?: unknown): Promise<ApiAnswer> {
    let attempt = 0;
    for (;;) {
      attempt += 1;
      let response: Response;
      let problem: string;
      let waitMs = Math.min(pollIntervalMs * 2 ** (attempt - 1), 30_000);
      try {
        response = await fetch(`${config.apiUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${config.token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch (error) {
        const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
        problem =
          err.name === 'TimeoutError'
            ? `no answer within ${requestTimeoutMs} ms`
            : `${err.cause?.code ?? err.message ?? 'network error'}${err.cause?.message ? ` (${err.cause.message})` : ''}`;
        if (now() + waitMs > deadline) throw new UserError(redact(`could not reach the DigitalOcean API at ${config.apiUrl}: ${problem}`), {
          hint: 'check the network (and DIGITALOCEAN_API_URL if set), then try again',
        });
        await sleep(waitMs);
        continue;
      }
      const text = await response.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { message: text.slice(0, 200) };
      }
      if (response.ok || pass.includes(response.status)) return { status: response.status, body: parsed };
      const apiMessage = redact(String(parsed?.message ?? text.slice(0, 200)));
      if (response.status === 401) {
        throw new UserError(`DigitalOcean rejected the API token (401 unauthorized: ${apiMessage})`, {
          hint: 'set DIGITALOCEAN_TOKEN to a valid personal access token with write scope',
          exitCode: 2,
        });
      }
      if (response.status === 403) {
        throw new UserError(`DigitalOcean refused ${method} ${path} (403 forbidden: ${apiMessage})`, {
          hint: 'give the token in DIGITALOCEAN_TOKEN write access to reserved IPs and read access to droplets',
          exitCode: 2,
        });
      }
      if (response.status === 429) {
        waitMs = rateLimitWaitMs(response.headers, now()) ?? waitMs;
        problem = `rate limited (429: ${apiMessage})`;
      } else if (response.status >= 500) {
        problem = `HTTP ${response.status} (${apiMessage})`;
      } else {
        throw new UserError(`DigitalOcean refused ${method} ${path}: HTTP ${response.status} ${parsed?.id ?? ''}: ${apiMessage}`.replace('  ', ' '), {
          hint: 'check BLUEGREEN_RESERVED_IP, BLUE_DROPLET and GREEN_DROPLET',
        });
      }
      if (now() + waitMs > deadline) {
        throw new UserError(`gave up on DigitalOcean ${method} ${path} after ${attempt} tries: ${problem}`, {
          hint: 'DigitalOcean is busy or failing; try again in a few minutes (https://status.digitalocean.com)',
        });
      }
      await sleep(waitMs);
    }
  }

  let dropletIds: Promise<Record<Colour, number>> | undefined;
  /** Droplet ids by colour; names are looked up with `GET /v2/droplets?name=`. */
  function droplets(deadline: number): Promise<Record<Colour, number>> {
    dropletIds ??= (async () => {
      const ids = {} as Record<Colour, number>;
      for (const colour of COLOURS) {
        const given = config.droplets[colour];
        const variable = `${colour.toUpperCase()}_DROPLET`;
        if (/^\d+$/.test(given)) {
          ids[colour] = Number(given);
          continue;
        }
        const answer = await call('GET', `/v2/droplets?name=${encodeURIComponent(given)}`, deadline, []);
        const found: Droplet[] = Array.isArray(answer.body?.droplets) ? answer.body.droplets : [];
        const matching = found.filter((d) => d.name === given);
        if (matching.length === 0) {
          throw new UserError(`no droplet is named ${JSON.stringify(given)} (${variable})`, {
            hint: `set ${variable} to the droplet's name or id as shown by \`doctl compute droplet list\``,
            exitCode: 2,
          });
        }
        if (matching.length > 1) {
          throw new UserError(
            `${matching.length} droplets are named ${JSON.stringify(given)} (${variable}): ids ${matching.map((d) => d.id).join(', ')}`,
            { hint: `set ${variable} to the id of the one you mean`, exitCode: 2 },
          );
        }
        ids[colour] = matching[0]!.id;
      }
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
    const answer = await call('GET', `/v2/reserved_ips/${ip}`, deadline, [404]);
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
      const deadline = now() + deadlineMs;
      const ids = await droplets(deadline);
      return colourOf(await readReservedIp(deadline), ids);
    },

    async moveTraffic(colour, say) {
      const started = now();
      const deadline = started + deadlineMs;
      const ids = await droplets(deadline);
      const target = ids[colour];
      const giveUp = async (why: string) =>
        new UserError(`${why}; gave up after ${Math.round((now() - started) / 1000)} s: ${await whereNow(ids)}`, {
          hint: `see the reserved IP in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
        });

      // Assign, waiting out another action's pending event (422) until the deadline.
      let action: Action | undefined;
      for (;;) {
        const reserved = await readReservedIp(deadline);
        if (reserved.droplet?.id === target) {
          say(`${description} already points at ${where(reserved, ids)}`);
          return;
        }
        if (!reserved.locked) {
          say(`${description} points at ${where(reserved, ids)}; assigning it to ${colour} (droplet ${target})`);
          const answer = await call('POST', `/v2/reserved_ips/${ip}/actions`, deadline, [422], { type: 'assign', droplet_id: target });
          if (answer.status === 201 || answer.status === 200) {
            action = answer.body?.action as Action;
            break;
          }
          const message = redact(String(answer.body?.message ?? ''));
          if (!/pending event/i.test(message)) {
            throw new UserError(`DigitalOcean refused to assign ${ip} to droplet ${target} (${answer.status} ${answer.body?.id ?? ''}: ${message})`, {
              hint: 'the droplet must be in the same region as the reserved IP',
            });
          }
        }
        say(`${description} is busy with another action; waiting`);
        if (now() + pollIntervalMs > deadline) throw await giveUp(`${description} stayed busy with another action`);
        await sleep(pollIntervalMs);
      }

      // Wait for the action; if its GET 404s, watch the reserved IP itself.
      const following = `the assign of ${ip} to ${colour} (action ${action.id})`;
      /** One look: true once the move is done; throws on an API failure. */
      let watchIp = false;
      const look = async (): Promise<boolean> => {
        if (watchIp) return (await readReservedIp(deadline)).droplet?.id === target;
        const answer = await call('GET', `/v2/reserved_ips/${ip}/actions/${action.id}`, deadline, [404]);
        if (answer.status === 404) {
          say(`action ${action.id} cannot be read (404); watching the reserved IP instead`);
          watchIp = true;
          return look();
        }
        const status = (answer.body?.action as Action | undefined)?.status;
        if (status === 'errored') {
          throw new UserError(`DigitalOcean reports ${following} errored: ${await whereNow(ids)}`, {
            hint: `see the action in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
          });
        }
        return status === 'completed';
      };
      for (;;) {
        if (now() + pollIntervalMs > deadline) throw await giveUp(`${following} did not finish`);
        await sleep(pollIntervalMs);
        let done: boolean;
        try {
          done = await look();
        } catch (error) {
          if (!(error instanceof UserError) || error.message.startsWith('DigitalOcean reports')) throw error;
          throw await giveUp(`could not follow ${following}: ${error.message}`);
        }
        if (done) break;
      }
      say(`${description} now points at ${colour} (droplet ${target})`);
    },

    async close() {},
  };
}
