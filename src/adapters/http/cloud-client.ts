/**
 * The one HTTP client for the clouds (DigitalOcean, Azure ARM, Azure sign-in). Every call:
 * - goes to the service's own origin only: an absolute URL elsewhere (a polling URL the API handed out) is
 *   refused, so credentials never leave;
 * - carries `Authorization: Bearer …` from `tokens` when given; a 401 makes a renewable token source renew
 *   once, and the call is sent again with the new token;
 * - is retried on network errors, 429, 5xx and answers `busy` calls busy, waiting as the server asks
 *   (`Retry-After`, or `ratelimit-reset` for a 429), else backing off exponentially from `pollIntervalMs`
 *   (at most 30 s); bounded by the call's deadline and by `maxAttempts`;
 * - answers 2xx (and the statuses in `pass`) to the caller; any other answer becomes the UserError `refusal` builds.
 * Long-running operations (Azure-AsyncOperation, Location + 202) are followed by `followOperation`; any other
 * "wait until done" loop uses `poll`. Secrets and bearer tokens are replaced by their names in every message.
 */
import type { Readable } from 'node:stream';
import { UserError } from '../../core/errors.js';
import { unreachable } from './fetch-problem.js';
import { askedWaitMs, retryAfterMs } from './retry-after.js';
import { type Sleep, sleep as realSleep } from './sleep.js';

/** Timing knobs; tests inject a virtual clock (`sleep` + `now`). */
export interface CloudTiming {
  /** Pause between polls when the server does not say (Retry-After), and the first retry's backoff. */
  pollIntervalMs: number;
  /** How long an operation (a call with its retries, or a whole move) may take: see `deadline()`. */
  deadlineMs: number;
  /** Per-request timeout (connect, headers and body). */
  requestTimeoutMs: number;
  sleep: Sleep;
  now: () => number;
}

/** `options` filled in from `defaults`, with the real clock. */
export function cloudTiming(options: Partial<CloudTiming>, defaults: Pick<CloudTiming, 'pollIntervalMs' | 'deadlineMs' | 'requestTimeoutMs'>): CloudTiming {
  return {
    pollIntervalMs: options.pollIntervalMs ?? defaults.pollIntervalMs,
    deadlineMs: options.deadlineMs ?? defaults.deadlineMs,
    requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
    sleep: options.sleep ?? realSleep,
    now: options.now ?? Date.now,
  };
}

/** Where bearer tokens come from. */
export interface BearerTokens {
  token(): Promise<string>;
  /** Forgets the current token, so the next `token()` gets a new one. Without it a 401 is final. */
  invalidate?(): void;
}

/** An HTTP answer as the caller sees it. */
export interface CloudAnswer<T = any> {
  status: number;
  headers: Headers;
  /** The JSON body; `{}` when empty or not JSON. */
  body: T;
  /** The error code the body names (`errorOf`), if any. */
  code: string | undefined;
  /** The error message the body carries (its first line, secrets redacted), or the start of a non-JSON body; '' if none. */
  message: string;
}

export interface CloudRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path on the service (`/v2/droplets?name=web-01`) or an absolute URL on its origin. */
  url: string;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: URLSearchParams;
  /** A streamed body (made anew for each try, so a retry sends it whole again) and its content type. */
  stream?: { open(): Readable | Promise<Readable>; contentType: string };
  /** Names the resource in messages (`application gateway gw`): the call is then `<METHOD> <what>`, else `<service> <METHOD> <path>`. */
  what?: string;
  /** No retry starts after this (client clock, ms); default `deadline()`. */
  deadline?: number;
  /** Non-2xx statuses answered to the caller instead of refused (e.g. a 404 the caller explains). */
  pass?: readonly number[];
  /** Statuses that mean "busy, try again" for this call (e.g. App Service's 409 while another operation runs). */
  busy?: readonly number[];
}

/** One look of a `poll`: done with a value, or not yet (wait `waitMs`, default `pollIntervalMs`; `state` is for messages). */
export type Look<T> = { done: true; value: T } | { done: false; waitMs?: number; state?: string };

export interface PollOptions<T> {
  /** Names what is awaited, e.g. `the update of application gateway gw`. */
  label: string;
  deadline: number;
  look(): Promise<Look<T>>;
  /** The error when the deadline would pass; default: `<label> did not finish in time (operation status: <state>)`. */
  timedOut?(state: string | undefined): Error | Promise<Error>;
}

export interface CloudClientOptions {
  /** Names the service in messages: `DigitalOcean`, `Azure`. */
  service: string;
  /** The API's base URL; paths are appended to it and only its origin is ever called. */
  baseUrl: string;
  /** The setting that holds `baseUrl`, for hints: `DIGITALOCEAN_API_URL`. */
  urlVariable: string;
  /** Where to check if the service is down: `https://status.digitalocean.com`. */
  statusPage: string;
  /** Where people look at a resource, for hints: `the DigitalOcean control panel`. */
  console: string;
  tokens?: BearerTokens;
  /** Values never to show, with the name shown instead: `[[token, 'DIGITALOCEAN_TOKEN']]`. Bearer tokens are always hidden. */
  secrets?: ReadonlyArray<readonly [secret: string, name: string]>;
  /** Reads the code and message out of an error body. */
  errorOf(body: any): { code?: unknown; message?: unknown };
  /** Answers besides 429 and 5xx that mean "busy, try again" (e.g. ARM's 409 AnotherOperationInProgress). */
  busy?(answer: CloudAnswer): boolean;
  /** The error for an answer that is neither 2xx, passed, nor retryable; `path` is the URL's path and query, `label` names the call. */
  refusal(answer: CloudAnswer, call: { method: string; path: string; what: string | undefined; label: string }): UserError;
  /** Tries per call at most (default 20); the deadline usually ends retries first. */
  maxAttempts?: number;
  timing: CloudTiming;
}

export interface CloudClient {
  readonly timing: CloudTiming;
  /** The time (ms, client clock) an operation starting now must end by: now + `deadlineMs`. */
  deadline(): number;
  /** One call with its retries; resolves with a 2xx or passed answer, throws a UserError otherwise. */
  request<T = any>(request: CloudRequest): Promise<CloudAnswer<T>>;
  /**
   * Follows the long-running operation `started` began: its `Azure-AsyncOperation` URL until the status is
   * Succeeded (Failed or Canceled throw, quoting the service's error), or, for a 202, its `Location` while that
   * answers 202. Waits as each answer's Retry-After says. Resolves with the last answer (`started` if neither header).
   */
  followOperation(started: CloudAnswer, options: { label: string; deadline: number }): Promise<CloudAnswer>;
  /** Looks, waits, looks again until done; throws `timedOut` when the next wait would pass the deadline. */
  poll<T>(options: PollOptions<T>): Promise<T>;
  /** `text` with every secret and bearer token replaced by its name. */
  redact(text: string): string;
}

const MAX_BACKOFF_MS = 30_000;
const TERMINAL_FAILURES = new Set(['Failed', 'Canceled']);

function parseBody(text: string): { json: any; isJson: boolean } {
  if (!text) return { json: {}, isJson: true };
  try {
    return { json: JSON.parse(text), isJson: true };
  } catch {
    return { json: {}, isJson: false };
  }
}

export function createCloudClient(options: CloudClientOptions): CloudClient {
  const t = options.timing;
  const base = new URL(options.baseUrl);
  const maxAttempts = options.maxAttempts ?? 20;
  const usedTokens = new Set<string>();

  const redact = (text: string): string => {
    let out = text;
    for (const [secret, name] of options.secrets ?? []) if (secret) out = out.split(secret).join(`[${name}]`);
    for (const token of usedTokens) out = out.split(token).join('[access token]');
    return out;
  };

  /** The absolute URL for `url`; refuses one on another origin. */
  function resolve(url: string, what: string): URL {
    const resolved = /^https?:\/\//i.test(url) ? new URL(url) : new URL(options.baseUrl.replace(/\/+$/, '') + url);
    if (resolved.origin !== base.origin) {
      throw new UserError(`${options.service} asked to follow ${what} at ${resolved.origin}, outside ${base.origin}; not sending credentials there`, {
        hint: `check ${options.urlVariable}`,
      });
    }
    return resolved;
  }

  /** One request; throws only what fetch throws (no answer, or none before its time ran out). */
  async function send(method: string, url: URL, request: CloudRequest, token: string | undefined, deadline: number): Promise<CloudAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | URLSearchParams | Readable | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = request.form;
    } else if (request.stream) {
      headers['content-type'] = request.stream.contentType;
      // fetch pulls an async iterable as the socket takes it: backpressure, never the whole body in memory.
      body = await request.stream.open();
    }
    // A streamed body may take longer than one request's timeout to send: it has until the call's deadline.
    const signal = AbortSignal.timeout(request.stream ? Math.max(t.requestTimeoutMs, deadline - t.now()) : t.requestTimeoutMs);
    const response = await fetch(url, { method, headers, body, signal, ...(request.stream ? { duplex: 'half' } : {}) } as RequestInit);
    const text = await response.text();
    const { json, isJson } = parseBody(text);
    const said = isJson ? options.errorOf(json) : { message: text.slice(0, 200) };
    return {
      status: response.status,
      headers: response.headers,
      body: json,
      code: said.code === undefined || said.code === null || said.code === '' ? undefined : String(said.code),
      message: redact(String(said.message ?? '').split(/\r?\n/)[0] ?? ''),
    };
  }

  const client: CloudClient = {
    timing: t,
    deadline: () => t.now() + t.deadlineMs,
    redact,

    async request(request) {
      const method = request.method;
      const label = request.what ? `${method} ${request.what}` : `${options.service} ${method} ${request.url}`;
      const url = resolve(request.url, request.what ?? request.url);
      const path = url.pathname + url.search;
      const deadline = request.deadline ?? client.deadline();
      let renewed = false;
      for (let attempt = 1; ; attempt++) {
        let waitMs = Math.min(t.pollIntervalMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
        let problem: string;
        let network = false;
        let answer: CloudAnswer | undefined;
        // Outside the try: a failed sign-in is its own error, not a network problem of this call.
        const token = await options.tokens?.token();
        if (token !== undefined) usedTokens.add(token);
        try {
          answer = await send(method, url, request, token, deadline);
        } catch (error) {
          problem = unreachable(url.href, error, t.requestTimeoutMs);
          network = true;
        }
        if (answer) {
          if ((answer.status >= 200 && answer.status < 300) || request.pass?.includes(answer.status)) return answer;
          if (answer.status === 401 && options.tokens?.invalidate && !renewed) {
            renewed = true;
            options.tokens.invalidate();
            continue;
          }
          if (!(answer.status === 429 || answer.status >= 500 || options.busy?.(answer) || request.busy?.includes(answer.status))) throw options.refusal(answer, { method, path, what: request.what, label });
          problem = `HTTP ${answer.status}${answer.code ? ` ${answer.code}` : ''}${answer.message ? `: ${answer.message}` : ''}`;
          waitMs = askedWaitMs(answer.status, answer.headers, t.now()) ?? waitMs;
        }
        if (attempt >= maxAttempts || t.now() + waitMs > deadline) {
          throw new UserError(redact(`gave up on ${label} after ${attempt} ${attempt === 1 ? 'try' : 'tries'}: ${problem!}`), {
            hint: network
              ? `check the network (and ${options.urlVariable} if set), then try again`
              : `${options.service} is busy or failing; try again in a few minutes (${options.statusPage})`,
          });
        }
        await t.sleep(waitMs);
      }
    },

    async poll({ label, deadline, look, timedOut }) {
      for (;;) {
        const result = await look();
        if (result.done) return result.value;
        const waitMs = result.waitMs ?? t.pollIntervalMs;
        if (t.now() + waitMs > deadline) {
          throw timedOut
            ? await timedOut(result.state)
            : new UserError(`${label} did not finish in time (operation status: ${result.state ?? 'unknown'})`, {
                hint: `it may still finish: see the resource in ${options.console} before trying again`,
              });
        }
        await t.sleep(waitMs);
      }
    },

    async followOperation(started, { label, deadline }) {
      const asyncUrl = started.headers.get('azure-asyncoperation');
      const location = started.status === 202 ? started.headers.get('location') : null;
      const pollUrl = asyncUrl ?? location;
      if (!pollUrl) return started;
      let answer = started;
      let first = true;
      return client.poll({
        label,
        deadline,
        look: async () => {
          if (!first) answer = await client.request({ method: 'GET', url: pollUrl, what: label, deadline });
          const wait = retryAfterMs(answer.headers, t.now());
          if (asyncUrl) {
            const status = first ? 'InProgress' : String(answer.body?.status ?? '');
            first = false;
            if (status === 'Succeeded') return { done: true, value: answer };
            if (TERMINAL_FAILURES.has(status)) {
              const error = options.errorOf(answer.body);
              const code = error.code ? `: ${error.code}` : '';
              const message = error.message ? `: ${redact(String(error.message))}` : '';
              throw new UserError(`${options.service} reports ${label} ${status}${code}${message}`, {
                hint: `see the resource in ${options.console} for details`,
              });
            }
            return { done: false, waitMs: wait, state: status || 'InProgress' };
          }
          first = false;
          if (answer.status !== 202) return { done: true, value: answer };
          return { done: false, waitMs: wait, state: 'still 202 Accepted' };
        },
      });
    },
  };
  return client;
}
