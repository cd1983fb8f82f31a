/** Schemas for the kinds of value the variables hold; each failure message says what was expected. */
import path from 'node:path';
import { z } from 'zod';
import type { Listen } from './types.js';

/** C0 controls and DEL: a newline or NUL in a path or URL is a paste error, and breaks files and shells. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A `%` not followed by two hex digits: not a URL escape. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

const HOSTNAME = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

/** A host name or address to listen on or connect to: a DNS name, an IPv4 address, or an IPv6 address (no brackets). */
export function hostProblem(host: string): string | undefined {
  if (host.includes(':')) return z.ipv6().safeParse(host).success ? undefined : 'not an IPv6 address';
  if (/^[\d.]+$/.test(host)) return z.ipv4().safeParse(host).success ? undefined : 'not an IPv4 address';
  return HOSTNAME.test(host) ? undefined : 'not a host name (letters, digits, - and .)';
}

/** `host:port`, `[v6]:port`; port 0 means any free port (tests, several servers side by side). */
export const listenSchema = z.string().transform((value, ctx): Listen => {
  const match = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port, e.g. 127.0.0.1:7000' });
    return z.NEVER;
  }
  const bracketed = match[1]!.startsWith('[');
  const host = bracketed ? match[1]!.slice(1, -1) : match[1]!;
  const port = Number(match[2]);
  const problem = bracketed && !host.includes(':') ? 'not an IPv6 address' : hostProblem(host);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, e.g. 127.0.0.1:7000 (${JSON.stringify(host)} is ${problem})` });
    return z.NEVER;
  }
  if (port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'expected a port from 0 (any free port) to 65535' });
    return z.NEVER;
  }
  return { host, port };
});

/** Why a URL-shaped value cannot be a URL at all, before it is parsed (the parser drops tabs and newlines silently). */
export function urlTextProblem(value: string): string | undefined {
  if (CONTROL_CHARACTERS.test(value) || /\s/.test(value)) return 'it holds spaces or control characters';
  if (BAD_ESCAPE.test(value)) return '% must start an escape of two hex digits, e.g. %20';
  return undefined;
}

/** A URL from a variable's text, or why it is none: `problem` is undefined when only the URL syntax failed. */
export function parseUrlText(value: string): { url: URL } | { url: undefined; problem: string | undefined } {
  const problem = urlTextProblem(value);
  if (problem) return { url: undefined, problem };
  try {
    return { url: new URL(value) };
  } catch {
    return { url: undefined, problem: undefined };
  }
}

/** Loopback hosts, where plain http cannot be overheard. */
function isLoopback(hostname: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(hostname);
}

interface HttpUrlOptions {
  /** Port 0 is refused: something must answer there (false for a host served from this process on any free port). */
  realPort: boolean;
  /** An API base that credentials are sent to: no query or fragment, and https unless it is a loopback fake. */
  apiBase?: boolean;
}

/** An http(s) URL; never with user:password@ (URLs are printed in progress and status). */
export function httpUrlSchema(options: HttpUrlOptions) {
  return z.string().superRefine((value, ctx) => {
    const fail = (detail?: string) => ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL${detail ? ` (${detail})` : ''}` });
    const parsed = parseUrlText(value);
    if (!parsed.url) return fail(parsed.problem);
    const { url } = parsed;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail();
    if (url.username || url.password) return fail('without user:password@: URLs appear in logs and status');
    if (options.realPort && url.port === '0') return fail('port 0 is not a port anything answers on');
    if (options.apiBase) {
      if (url.search || url.hash) return fail('an API base: without ?query or #fragment');
      if (url.protocol === 'http:' && !isLoopback(url.hostname)) return fail('https://: credentials are sent there; plain http:// only to a loopback address');
    }
  });
}

/** An absolute POSIX path without `..` segments or control characters (paths on the hosts). */
export const absolutePathSchema = z
  .string()
  .refine(
    (value) => path.posix.isAbsolute(value) && !value.split('/').includes('..') && !CONTROL_CHARACTERS.test(value),
    'expected an absolute path without .. or control characters',
  );

/**
 * A path on this machine: relative to the working directory, or `~/…` under $HOME; no control characters.
 * Transforms to the absolute path.
 */
export function localPathSchema(cwd: string, home: string | undefined) {
  return z.string().transform((value, ctx) => {
    if (CONTROL_CHARACTERS.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected a path without control characters' });
      return z.NEVER;
    }
    if (value === '~' || value.startsWith('~/')) {
      if (!home || !path.isAbsolute(home)) {
        ctx.addIssue({ code: 'custom', message: 'expected a path; ~ needs HOME set to an absolute path' });
        return z.NEVER;
      }
      return path.join(home, value.slice(1));
    }
    if (value.startsWith('~')) {
      ctx.addIssue({ code: 'custom', message: 'expected a path; only ~/ (your own home) is expanded' });
      return z.NEVER;
    }
    return path.resolve(cwd, value);
  });
}

export const wholeNumber = (what: string) => z.string().regex(/^\d+$/, `expected a whole number${what}`).transform(Number);

/** A resource name or id as the clouds spell them. */
export const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, . _ -');

export const loginNameSchema = z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a login name');

/** A token sent in an HTTP header: printable, no spaces (a pasted newline would break every request). */
export const headerTokenSchema = z.string().regex(/^[\x21-\x7e]+$/, 'expected a token of printable characters without spaces');

/** A secret sent in a form body: anything but control characters and surrounding spaces. */
export const secretTextSchema = z
  .string()
  .refine((value) => !CONTROL_CHARACTERS.test(value) && value.trim() === value, 'expected no control characters or surrounding spaces');

const WEB_LISTEN = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5})$/;

/**
 * Checks a BLUEGREEN_WEB_LISTEN value: `PORT` (every address) or `IPV4:PORT`. Returns an error message, or
 * undefined when it is good. Provisioning checks it again for a value given as an option.
 */
export function checkWebListen(value: string): string | undefined {
  const match = WEB_LISTEN.exec(value);
  if (!match) return 'expected PORT or IPV4:PORT, e.g. 80 or 127.0.0.1:8080';
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return 'expected a port between 1 and 65535';
  if (match[1] && match[1].split('.').some((octet) => Number(octet) > 255)) return 'expected an IPv4 address';
  return undefined;
}
