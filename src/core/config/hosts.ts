/** The hosts section: BLUE_HOST / GREEN_HOST (where releases go) and BLUE_URL / GREEN_URL (where they answer). */
import path from 'node:path';
import { z } from 'zod';
import { COLOURS, type Colour } from '../colour.js';
import type { Reader } from './reader.js';
import type { HostLocation, HostTarget } from './types.js';
import { absolutePathSchema, hostProblem, httpUrlSchema, urlTextProblem } from './values.js';

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
    const textProblem = urlTextProblem(value);
    if (textProblem) return fail(textProblem);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail();
    }
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
export function parseHosts(reader: Reader, where: { dataDir: string; appRoot: string }): { embedded: boolean; hosts: Record<Colour, HostTarget[]> } {
  const embedded = !reader.isSet('BLUE_HOST') && !reader.isSet('GREEN_HOST');
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
      : reader.read(`${prefix}_HOST`, z.string().transform((value, ctx) => listOf(value).map((item, index) => {
          const parsed = hostSchema(where.appRoot).safeParse(item);
          if (parsed.success) return parsed.data;
          ctx.addIssue({ code: 'custom', message: `host ${index + 1} (${JSON.stringify(item.slice(0, 80))}): ${parsed.error.issues[0]?.message ?? EXPECTED}` });
          return fallback;
        })), [fallback]);
    const urlsGiven = reader.isSet(`${prefix}_URL`);
    const defaults = locations.map((target) => (target.kind === 'ssh' ? `http://${formatHost(target.host)}/` : `http://127.0.0.1:${EMBEDDED_HOST_PORTS[colour]}/`));
    // A file:// host served from this process may take any free port (0); a remote one answers on a real port.
    const urlSchema = httpUrlSchema({ realPort: locations.some((target) => target.kind === 'ssh') });
    const urls = urlsGiven
      ? reader.read(`${prefix}_URL`, z.string().transform((value, ctx) => listOf(value).map((item, index) => {
          const parsed = urlSchema.safeParse(item);
          if (parsed.success) return parsed.data;
          ctx.addIssue({ code: 'custom', message: `URL ${index + 1} (${JSON.stringify(item.slice(0, 80))}): ${parsed.error.issues[0]?.message ?? 'expected an http(s) URL'}` });
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
      const key = target.kind === 'ssh' ? `ssh://${target.host}:${target.port}${target.appRoot}` : `file://${target.appRoot}`;
      const other = seen.get(key);
      if (other) reader.errors.push(`${prefix}_HOST names ${key} which ${other} names too: each host and app root serves one colour, once`);
      else seen.set(key, `${prefix}_HOST`);
    }
  }
  return { embedded, hosts };
}
