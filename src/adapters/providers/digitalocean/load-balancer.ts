/**
 * The `digitalocean-lb` provider: production is a DigitalOcean load balancer; moving traffic points it at the
 * other colour's droplets, by tag (`BLUE_TAG`) or by list (`BLUE_DROPLET=web-1,web-2`).
 * API facts (see DESIGN.md): PUT replaces the whole balancer (an attribute left out is reset to its default),
 * so the update is the balancer as read, with only `tag` or `droplet_ids` changed and `region` as its slug;
 * a balancer still applying a change answers 403 "can't be updated while it processes previous actions";
 * after a change `status` is `new` until it is `active` again; a droplet newly in the pool gets traffic only
 * after `healthy_threshold` passing checks. Retries, rate limits and the token are the API client's (./api.ts).
 */
import { COLOURS, type Colour } from '../../../core/colour.js';
import type { ProviderConfig } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import type { Provider, ProviderOptions } from '../provider.js';
import { createDigitalOceanApi } from './api.js';
import { dropletId } from './droplets.js';
import { listAllPages } from './pages.js';
import { taggedDroplets } from './tagged-droplets.js';

type LoadBalancerConfig = Extract<ProviderConfig, { kind: 'digitalocean-lb' }>;

/** A colour's droplets as the balancer names them: a tag, or droplet ids. */
type Target = { tag: string } | { ids: number[] };

/** A balancer as GET returns it; every attribute is kept on update, so the rest are carried untyped. */
interface Balancer {
  id: string;
  name: string;
  status: string;
  tag?: string;
  droplet_ids?: number[];
  region?: { slug: string } | string;
  health_check?: { check_interval_seconds?: number; healthy_threshold?: number };
  [attribute: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What GET returns that PUT does not take. */
const READ_ONLY = new Set(['id', 'ip', 'ipv6', 'status', 'created_at']);
const BUSY = /can't be updated while it processes previous actions/i;
/** DigitalOcean's health check defaults: a droplet is healthy after 3 passing checks, 10 s apart. */
const DEFAULT_HEALTHY_THRESHOLD = 3;
const DEFAULT_CHECK_INTERVAL_SECONDS = 10;

/** The PUT body: `balancer` as read, read-only attributes left out, `region` as its slug, and only `target` as its droplets. */
function updateOf(balancer: Balancer, target: Target): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [attribute, value] of Object.entries(balancer)) {
    if (!READ_ONLY.has(attribute) && attribute !== 'tag' && attribute !== 'droplet_ids') body[attribute] = value;
  }
  if (typeof balancer.region === 'object' && balancer.region !== null) body.region = balancer.region.slug;
  if ('tag' in target) body.tag = target.tag;
  else body.droplet_ids = target.ids;
  return body;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** True when the balancer sends traffic to exactly `target` (a tagged balancer also lists the tag's droplets). */
function targets(balancer: Balancer, target: Target): boolean {
  if ('tag' in target) return balancer.tag === target.tag;
  return !balancer.tag && sameIds(balancer.droplet_ids ?? [], target.ids);
}

/** `tag web-blue`, `droplets 101, 102`. */
function describeTarget(target: Target): string {
  return 'tag' in target ? `tag ${target.tag}` : `droplet${target.ids.length === 1 ? '' : 's'} ${target.ids.join(', ')}`;
}

/** What the balancer sends traffic to: its tag, its droplets, or undefined for nothing. */
function balancerTarget(balancer: Balancer): Target | undefined {
  if (balancer.tag) return { tag: balancer.tag };
  const ids = balancer.droplet_ids ?? [];
  return ids.length > 0 ? { ids } : undefined;
}

/** Creates the provider; the balancer and droplets may be given by id or by name (resolved once, on first use). */
export function createDigitalOceanLoadBalancerProvider(config: LoadBalancerConfig, options: ProviderOptions = {}): Provider {
  const api = createDigitalOceanApi(config, options, {
    forbidden: 'give the token in DIGITALOCEAN_TOKEN write access to load balancers and read access to droplets',
    refused: 'check DIGITALOCEAN_LOAD_BALANCER, BLUE_TAG/BLUE_DROPLET and GREEN_TAG/GREEN_DROPLET',
  });
  const { now, pollIntervalMs, requestTimeoutMs, sleep } = api.timing;
  const description = `digitalocean load balancer ${config.loadBalancer}`;

  /** Resolved once; a failure is forgotten so the next call tries again. */
  function once<T>(make: (deadline: number) => Promise<T>): (deadline: number) => Promise<T> {
    let value: Promise<T> | undefined;
    return (deadline) => {
      if (!value) {
        value = make(deadline);
        value.catch(() => {
          value = undefined;
        });
      }
      return value;
    };
  }

  const balancerId = once(async (deadline) => {
    const given = config.loadBalancer;
    if (UUID.test(given)) return given;
    const all = await listAllPages<Balancer>(api, '/v2/load_balancers?per_page=200', 'load_balancers', deadline);
    const matching = all.filter((b) => b.name === given);
    if (matching.length === 0) {
      throw new UserError(`no load balancer is named ${JSON.stringify(given)} (DIGITALOCEAN_LOAD_BALANCER)`, {
        hint: "set DIGITALOCEAN_LOAD_BALANCER to the load balancer's name or id as shown by `doctl compute load-balancer list`",
        exitCode: 2,
      });
    }
    if (matching.length > 1) {
      throw new UserError(`${matching.length} load balancers are named ${JSON.stringify(given)} (DIGITALOCEAN_LOAD_BALANCER): ids ${matching.map((b) => b.id).join(', ')}`, {
        hint: 'set DIGITALOCEAN_LOAD_BALANCER to the id of the one you mean',
        exitCode: 2,
      });
    }
    return matching[0]!.id;
  });

  const colourTargets = once(async (deadline) => {
    const resolved = {} as Record<Colour, Target>;
    for (const colour of COLOURS) {
      const given = config.targets[colour];
      const variable = `${colour.toUpperCase()}_DROPLET`;
      resolved[colour] = 'tag' in given ? { tag: given.tag } : { ids: await Promise.all(given.droplets.map((d: string) => dropletId(api, d, variable, deadline))) };
    }
    const { blue, green } = resolved;
    const shared = 'ids' in blue && 'ids' in green ? blue.ids.find((id) => green.ids.includes(id)) : undefined;
    if (shared !== undefined) {
      throw new UserError(`BLUE_DROPLET and GREEN_DROPLET both name droplet ${shared}`, { hint: 'a droplet belongs to one colour: blue and green must be different droplets', exitCode: 2 });
    }
    return resolved;
  });

  async function readBalancer(deadline: number): Promise<Balancer> {
    const id = await balancerId(deadline);
    const answer = await api.request({ method: 'GET', url: `/v2/load_balancers/${id}`, deadline, pass: [404] });
    if (answer.status === 404) {
      throw new UserError(`DigitalOcean has no load balancer ${id} (404 not_found)`, {
        hint: 'set DIGITALOCEAN_LOAD_BALANCER to a load balancer of this account (`doctl compute load-balancer list`)',
        exitCode: 2,
      });
    }
    return answer.body.load_balancer as Balancer;
  }

  function colourOf(balancer: Balancer, resolved: Record<Colour, Target>): Colour | undefined {
    return COLOURS.find((colour) => targets(balancer, resolved[colour]));
  }

  /** Where the balancer sends traffic, for people: `blue (tag web-blue)`, `nothing`, `droplet 9, neither blue nor green`. */
  function where(balancer: Balancer, resolved: Record<Colour, Target>): string {
    const target = balancerTarget(balancer);
    if (!target) return 'nothing';
    const colour = colourOf(balancer, resolved);
    return colour ? `${colour} (${describeTarget(target)})` : `${describeTarget(target)}, neither blue nor green`;
  }

  /** Best effort, for failure messages: where the balancer sends traffic right now. */
  async function whereNow(resolved: Record<Colour, Target>): Promise<string> {
    try {
      return `it sends traffic to ${where(await readBalancer(now() + Math.max(pollIntervalMs, requestTimeoutMs)), resolved)}`;
    } catch (error) {
      return `where it sends traffic now could not be read (${(error as Error).message})`;
    }
  }

  return {
    description,

    async liveColour() {
      const deadline = api.deadline();
      const resolved = await colourTargets(deadline);
      const balancer = await readBalancer(deadline);
      const target = balancerTarget(balancer);
      if (!target) return undefined;
      const colour = colourOf(balancer, resolved);
      if (colour) return colour;
      throw new UserError(
        `${description} sends traffic to ${describeTarget(target)}, which is neither blue (${describeTarget(resolved.blue)}) nor green (${describeTarget(resolved.green)})`,
        { hint: 'point it at one colour in the DigitalOcean control panel, or set BLUE_TAG/BLUE_DROPLET and GREEN_TAG/GREEN_DROPLET to what it serves' },
      );
    },

    async moveTraffic(colour, say) {
      const started = now();
      const deadline = api.deadline();
      const resolved = await colourTargets(deadline);
      const target = resolved[colour];
      const seconds = () => Math.round((now() - started) / 1000);
      const giveUp = async (why: string) =>
        new UserError(`${why}; gave up after ${seconds()} s: ${await whereNow(resolved)}`, {
          hint: `see the load balancer in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
        });

      // A tag without droplets would leave production without a backend.
      let wanted = describeTarget(target);
      if ('tag' in target) {
        const droplets = await taggedDroplets(api, target.tag, deadline);
        const variable = `${colour.toUpperCase()}_TAG`;
        if (droplets.length === 0) {
          throw new UserError(`no droplet has the tag ${target.tag} (${variable}): pointing ${description} at it would leave production without a backend`, {
            hint: `tag ${colour}'s droplets with ${target.tag} (\`doctl compute droplet tag\`), or set ${variable}`,
          });
        }
        const names = droplets.slice(0, 5).map((d) => d.name);
        wanted += `: ${names.join(', ')}${droplets.length > names.length ? `, … (${droplets.length} droplets)` : ''}`;
      }

      // Update, waiting out an earlier change (403 while it processes previous actions) until the deadline.
      let announced = false;
      let waited = false;
      const update = await api.poll<{ changed: boolean; balancer: Balancer }>({
        label: `the update of ${description}`,
        deadline,
        timedOut: () => giveUp(`${description} stayed busy with earlier changes`),
        look: async () => {
          const balancer = await readBalancer(deadline);
          if (targets(balancer, target)) {
            say(`${description} already sends traffic to ${where(balancer, resolved)}`);
            return { done: true, value: { changed: false, balancer } };
          }
          if (!announced) say(`${description} sends traffic to ${where(balancer, resolved)}; pointing it at ${colour} (${wanted})`);
          announced = true;
          const answer = await api.request({ method: 'PUT', url: `/v2/load_balancers/${balancer.id}`, json: updateOf(balancer, target), deadline, pass: [403] });
          if (answer.status !== 403) return { done: true, value: { changed: true, balancer: (answer.body?.load_balancer as Balancer | undefined) ?? { ...balancer, status: 'new' } } };
          if (!BUSY.test(answer.message)) {
            throw new UserError(`DigitalOcean refused to update ${description} (403 ${answer.code ?? 'forbidden'}: ${answer.message})`, {
              hint: 'give the token in DIGITALOCEAN_TOKEN write access to load balancers',
              exitCode: 2,
            });
          }
          if (!waited) say(`${description} is still applying an earlier change; waiting`);
          waited = true;
          return { done: false, state: balancer.status };
        },
      });

      let balancer = update.balancer;
      if (update.changed || balancer.status !== 'active') {
        let first = true;
        balancer = await api.poll<Balancer>({
          label: `${description} applying the change`,
          deadline,
          timedOut: (status) => giveUp(`${description} did not become active (status ${status})`),
          look: async () => {
            const current = first ? balancer : await readBalancer(deadline);
            if (!first && current.status === 'active') return { done: true, value: current };
            if (current.status === 'errored') {
              throw new UserError(`DigitalOcean reports ${description} errored: ${await whereNow(resolved)}`, {
                hint: `see the load balancer in the DigitalOcean control panel, then run \`bluegreen flip ${colour}\` again`,
              });
            }
            if (first) say(`waiting for ${description} to become active (status ${current.status})`);
            first = false;
            return { done: false, state: current.status };
          },
        });
        if (!targets(balancer, target)) {
          throw new UserError(`${description} became active sending traffic to ${where(balancer, resolved)}, not ${colour}: another change replaced this one`, {
            hint: `see who changed the load balancer (DigitalOcean control panel), then run \`bluegreen flip ${colour}\` again`,
          });
        }
      }
      if (update.changed) {
        // The balancer sends nothing to a droplet new in its pool until it passed `healthy_threshold` checks.
        const threshold = balancer.health_check?.healthy_threshold ?? DEFAULT_HEALTHY_THRESHOLD;
        const interval = balancer.health_check?.check_interval_seconds ?? DEFAULT_CHECK_INTERVAL_SECONDS;
        say(`${description} is active; waiting ${threshold * interval} s for ${colour}'s droplets to pass ${threshold} health checks, ${interval} s apart`);
        await sleep(threshold * interval * 1000);
      }
      say(`${description} sends traffic to ${colour} (${describeTarget(target)}), after ${seconds()} s`);
    },

    async close() {},
  };
}
