/**
 * The hosts section: BLUE_HOST / GREEN_HOST (where releases go) and BLUE_URL / GREEN_URL (where they answer); or,
 * with neither set, hosts found by tag (`digitalocean-lb`) or scale set (`azure-appgw`), addressed through
 * BLUEGREEN_HOST_TEMPLATE and BLUEGREEN_URL_TEMPLATE.
 */
import path from 'node:path';
import { z } from 'zod';
import { COLOURS, type Colour } from '../colour.js';
import type { Reader } from './reader.js';
import { UserError } from '../errors.js';
import type { HostDiscovery, HostLocation, HostSource, HostTarget, ProviderConfig } from './types.js';
import { absolutePathSchema, hostProblem, httpUrlSchema, nameSchema, parseUrlText } from './values.js';

/** Ports the embedded default (and any `file://` host without its own URL) is served on. */
export const EMBEDDED_HOST_PORTS: Record<Colour, number> = { blue: 8001, green: 8002 };

const EXPECTED = 'expected ssh://user@host[:port][/app/root] or file:///app/root';

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** One host URL; an ssh:// URL without a path uses `defaultAppRoot`. */
export function hostSchema(defaultAppRoot: string) {
  return z.string().transform((value, ctx): HostLocation => {
    const fail = (detail?: string) => {
      ctx.addIssue({ code: 'custom', message: detail ? `${EXPECTED} (${detail})` : EXPECTED });
      return z.NEVER;
    };
    const parsed = parseUrlText(value);
    if (!parsed.url) return fail(parsed.problem);
    const { url } = parsed;
    if (url.search || url.hash) return fail('no ?query or #fragment');
    // URL parsing has already resolved `..` segments; escaped ones (`..%2F`) are caught after decoding.
    const appRoot = decode(url.pathname)?.replace(/\/+$/, '');
    if (appRoot === undefined) return fail();
    const badAppRoot = appRoot !== '' && !absolutePathSchema.safeParse(appRoot).success;
    if (url.protocol === 'file:') {
      if (url.host !== '' || !appRoot || badAppRoot) return fail('file:// needs an absolute path without .. or control characters');
      return { kind: 'file', appRoot };
    }
    if (url.protocol !== 'ssh:' || !url.hostname || !url.username) return fail();
    if (url.password) return fail('no password: the deploy key logs in');
    const user = decode(url.username);
    if (user === undefined || !/^[a-z_][a-z0-9_.-]*$/i.test(user)) return fail('user must be a plain login name');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const problem = hostProblem(host);
    if (problem) return fail(`${JSON.stringify(host)} is ${problem}`);
    if (url.port === '0') return fail('port must be 1 to 65535');
    if (badAppRoot) return fail('the app root must be an absolute path without .. or control characters');
    return { kind: 'ssh', user, host, port: url.port ? Number(url.port) : 22, appRoot: appRoot || defaultAppRoot };
  });
}

/** A host for a URL: IPv6 addresses go in brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** One key per host and app root: two targets with the same key are the same place. */
export function hostKey(target: HostLocation): string {
  if (target.kind === 'app-service-slot') return `app-service://${target.scmHost}/${target.slot}`;
  return target.kind === 'ssh' ? `ssh://${target.host}:${target.port}${target.appRoot}` : `file://${target.appRoot}`;
}

/** An address standing for `{ip}` while the templates are checked (TEST-NET-1, never a real host). */
const SAMPLE_IP = '192.0.2.1';
const HOST_TEMPLATE_EXPECTED = 'expected ssh://user@{ip}[:port][/app/root], with {ip} where each host\'s address goes';
const URL_TEMPLATE_EXPECTED = 'expected http://{ip}[:port]/ or https://…, with {ip} where each host\'s address goes';

function fillTemplate(template: string, ip: string): string {
  return template.replaceAll('{ip}', formatHost(ip));
}

function hostTemplateSchema(defaultAppRoot: string) {
  return z.string().superRefine((value, ctx) => {
    const parsed = value.includes('{ip}') ? hostSchema(defaultAppRoot).safeParse(fillTemplate(value, SAMPLE_IP)) : undefined;
    if (parsed?.success && parsed.data.kind === 'ssh' && parsed.data.host === SAMPLE_IP) return;
    const detail = parsed && !parsed.success ? parsed.error.issues[0]?.message.replace(/^expected [^(]*/, '').trim() : '';
    ctx.addIssue({ code: 'custom', message: `${HOST_TEMPLATE_EXPECTED}${detail ? ` ${detail}` : ''}` });
  });
}

const urlTemplateSchema = z.string().superRefine((value, ctx) => {
  const filled = fillTemplate(value, SAMPLE_IP);
  const good = value.includes('{ip}') && httpUrlSchema({ realPort: true }).safeParse(filled).success && new URL(filled).hostname === SAMPLE_IP;
  if (!good) ctx.addIssue({ code: 'custom', message: URL_TEMPLATE_EXPECTED });
});

/** A host found by tag or scale set at `ip`, through the templates. */
export function discoveredHost(discovery: HostDiscovery, appRoot: string, ip: string): HostTarget {
  const location = hostSchema(appRoot).safeParse(fillTemplate(discovery.hostTemplate, ip));
  const url = fillTemplate(discovery.urlTemplate, ip);
  if (!location.success || !httpUrlSchema({ realPort: true }).safeParse(url).success) {
    throw new UserError(`the address ${JSON.stringify(ip.slice(0, 80))} found for a host does not make a host URL through BLUEGREEN_HOST_TEMPLATE and BLUEGREEN_URL_TEMPLATE`, {
      hint: 'give the instances IPv4 addresses, or list the hosts in BLUE_HOST and GREEN_HOST',
    });
  }
  return { ...location.data, url };
}

/** What every host found through the templates shares (login, port, app root), shown on a sample address. */
export function templateHost(discovery: HostDiscovery, appRoot: string): HostTarget {
  return discoveredHost(discovery, appRoot, SAMPLE_IP);
}

/** Where each colour's hosts can be found, when the provider can find them (a tag, a scale set). */
function hostSources(reader: Reader, provider: ProviderConfig): Partial<Record<Colour, HostSource>> {
  const sources: Partial<Record<Colour, HostSource>> = {};
  for (const colour of COLOURS) {
    const vmssVariable = `${colour.toUpperCase()}_VMSS`;
    // A bad tag or name is reported where it is read; the colour still has its source.
    if (provider.kind === 'digitalocean-lb') {
      const target = provider.targets[colour];
      if ('tag' in target) sources[colour] = { kind: 'digitalocean-tag', tag: target.tag };
    } else if (provider.kind === 'azure-appgw' && reader.isSet(vmssVariable)) {
      sources[colour] = { kind: 'azure-vmss', vmss: reader.read(vmssVariable, nameSchema, '') };
    }
    if (reader.isSet(vmssVariable) && provider.kind !== 'azure-appgw') {
      reader.errors.push(`${vmssVariable} is set, but BLUEGREEN_PROVIDER=${provider.kind}: only azure-appgw finds a colour's hosts in a scale set`);
    }
  }
  const { blue, green } = sources;
  if (blue?.kind === 'azure-vmss' && green?.kind === 'azure-vmss' && blue.vmss !== '' && blue.vmss.toLowerCase() === green.vmss.toLowerCase()) {
    reader.errors.push(`BLUE_VMSS and GREEN_VMSS are the same scale set ${JSON.stringify(blue.vmss)}: blue and green must be different hosts`);
  }
  return sources;
}

/** The discovery settings when neither colour lists its hosts and the provider can find both colours'. */
function parseDiscovery(reader: Reader, sources: Partial<Record<Colour, HostSource>>, appRoot: string): HostDiscovery | undefined {
  for (const colour of COLOURS) {
    if (sources[colour]) continue;
    const prefix = colour.toUpperCase();
    const other = COLOURS.find((c) => c !== colour)!;
    const how = sources[other]?.kind === 'azure-vmss' ? `set ${prefix}_VMSS to find them in a scale set` : `set ${prefix}_TAG to find them by tag`;
    reader.errors.push(`${prefix}_HOST is not set, and ${colour}'s hosts cannot be found (${other}'s are found by tag or scale set): ${how}, or set BLUE_HOST and GREEN_HOST`);
  }
  const network = reader.read('BLUEGREEN_HOST_NETWORK', z.enum(['private', 'public'], { message: 'expected private or public' }), 'private');
  if (network === 'public' && COLOURS.some((colour) => sources[colour]?.kind === 'azure-vmss')) {
    reader.errors.push(
      'BLUEGREEN_HOST_NETWORK=public: scale set instances are found by their private addresses only (a public address takes a further call per instance); use private, or list the hosts in BLUE_HOST and GREEN_HOST',
    );
  }
  const { blue, green } = sources;
  if (!blue || !green) return undefined;
  return {
    sources: { blue, green },
    hostTemplate: reader.read('BLUEGREEN_HOST_TEMPLATE', hostTemplateSchema(appRoot), 'ssh://deploy@{ip}'),
    urlTemplate: reader.read('BLUEGREEN_URL_TEMPLATE', urlTemplateSchema, 'http://{ip}/'),
    network,
  };
}

/** With `azure-slots` the colours have no hosts to list: each lives in a slot, found at every deploy, flip and status. */
export function slotHosts(reader: Reader): { embedded: false; hosts: Record<Colour, HostTarget[]>; discovery: undefined } {
  for (const variable of ['BLUE_HOST', 'GREEN_HOST', 'BLUE_URL', 'GREEN_URL']) {
    if (reader.isSet(variable)) {
      reader.errors.push(`${variable} is set, but BLUEGREEN_PROVIDER=azure-slots deploys to the slots of AZURE_WEBAPP (their host names are read from Azure): remove ${variable}`);
    }
  }
  return { embedded: false, hosts: { blue: [], green: [] }, discovery: undefined };
}

/** A comma-separated list: each item trimmed, empty items kept (so they are reported, not skipped). */
function listOf(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

/**
 * Both colours' hosts: each colour one or more, comma-separated, with one URL per host in `*_URL` (in the same
 * order) or each host's default. Neither set is the embedded default (one `file://` host per colour under the
 * data dir); one set without the other is a problem. A `file://` host answers, unless its URL says otherwise,
 * where the embedded default's would: on this machine's ports 8001 and 8002, served by `bluegreen serve`.
 */
export function parseHosts(
  reader: Reader,
  where: { dataDir: string; appRoot: string; provider: ProviderConfig },
): { embedded: boolean; hosts: Record<Colour, HostTarget[]>; discovery: HostDiscovery | undefined } {
  const listed = reader.isSet('BLUE_HOST') || reader.isSet('GREEN_HOST');
  const sources = hostSources(reader, where.provider);
  if (!listed && (sources.blue || sources.green)) {
    return { embedded: false, hosts: { blue: [], green: [] }, discovery: parseDiscovery(reader, sources, where.appRoot) };
  }
  const embedded = !listed;
  if (!embedded && (!reader.isSet('BLUE_HOST') || !reader.isSet('GREEN_HOST'))) {
    const missing = reader.isSet('BLUE_HOST') ? 'GREEN_HOST' : 'BLUE_HOST';
    reader.errors.push(`${missing} is not set: set both BLUE_HOST and GREEN_HOST, or neither for the embedded default`);
  }
  const hosts = {} as Record<Colour, HostTarget[]>;
  const seen = new Map<string, string>();
  for (const colour of COLOURS) {
    const prefix = colour.toUpperCase();
    const fallback: HostLocation = { kind: 'file', appRoot: path.join(where.dataDir, 'hosts', colour) };
    const locations = embedded
      ? [fallback]
      : reader.read(`${prefix}_HOST`, z.string().transform((value, ctx) => listOf(value).map((item, index, list) => {
          const parsed = hostSchema(where.appRoot).safeParse(item);
          if (parsed.success) return parsed.data;
          const why = parsed.error.issues[0]?.message ?? EXPECTED;
          ctx.addIssue({ code: 'custom', message: list.length > 1 ? `host ${index + 1} (${JSON.stringify(item.slice(0, 80))}): ${why}` : why });
          return fallback;
        })), [fallback]);
    const urlsGiven = reader.isSet(`${prefix}_URL`);
    const defaults = locations.map((target) => (target.kind === 'ssh' ? `http://${formatHost(target.host)}/` : `http://127.0.0.1:${EMBEDDED_HOST_PORTS[colour]}/`));
    // A file:// host served from this process may take any free port (0); a remote one answers on a real port.
    const urlSchema = httpUrlSchema({ realPort: locations.some((target) => target.kind === 'ssh') });
    const urls = urlsGiven
      ? reader.read(`${prefix}_URL`, z.string().transform((value, ctx) => listOf(value).map((item, index, list) => {
          const parsed = urlSchema.safeParse(item);
          if (parsed.success) return parsed.data;
          const why = parsed.error.issues[0]?.message ?? 'expected an http(s) URL';
          ctx.addIssue({ code: 'custom', message: list.length > 1 ? `URL ${index + 1} (${JSON.stringify(item.slice(0, 80))}): ${why}` : why });
          return '';
        })), defaults)
      : defaults;
    if (urls.length !== locations.length) {
      reader.errors.push(`${prefix}_URL has ${urls.length} URL${urls.length === 1 ? '' : 's'} for ${locations.length} host${locations.length === 1 ? '' : 's'} in ${prefix}_HOST: give one URL per host, in the same order (or none for http://<host>/)`);
    }
    if (!urlsGiven && locations.filter((target) => target.kind === 'file').length > 1) {
      reader.errors.push(`${prefix}_HOST has several file:// hosts: give each its own URL in ${prefix}_URL (one per host, in the same order)`);
    }
    hosts[colour] = locations.map((target, index) => ({ ...target, url: urls[index] ?? defaults[index] ?? '' }));
    for (const target of locations) {
      const key = hostKey(target);
      const other = seen.get(key);
      if (other) reader.errors.push(`${prefix}_HOST names ${key} which ${other} names too: each host and app root serves one colour, once`);
      else seen.set(key, `${prefix}_HOST`);
    }
  }
  return { embedded, hosts, discovery: undefined };
}
