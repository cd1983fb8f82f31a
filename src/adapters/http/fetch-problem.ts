/**
 * The one place that turns a failed `fetch` (it threw: no HTTP answer) into words. Node's fetch throws
 * `TypeError('fetch failed')` with the socket, DNS or TLS error as `cause`, or a `TimeoutError` from
 * `AbortSignal.timeout`.
 */

interface FetchFailure {
  name?: string;
  message?: string;
  cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> };
}

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection closed without an answer',
  UND_ERR_SOCKET: 'connection closed without an answer',
  EPIPE: 'connection closed without an answer',
  ENOTFOUND: 'host name not found (DNS: ENOTFOUND)',
  EAI_AGAIN: 'host name could not be looked up now (DNS: EAI_AGAIN)',
  ETIMEDOUT: 'connecting timed out (ETIMEDOUT)',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out (UND_ERR_CONNECT_TIMEOUT)',
  EHOSTUNREACH: 'host unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'network unreachable (ENETUNREACH)',
};

/** Certificate and handshake failures, by the code Node gives them. */
function isTlsCode(code: string): boolean {
  return /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|EPROTO$)/.test(code);
}

/**
 * Why a fetch threw, as a short phrase: `connection refused`, `timed out after 5000 ms`,
 * `host name not found (DNS: ENOTFOUND)`, `TLS handshake failed (CERT_HAS_EXPIRED: certificate has expired)`.
 */
export function describeFetchError(error: unknown, timeoutMs: number): string {
  const err = (error ?? {}) as FetchFailure;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const code = err.cause?.code ?? err.cause?.errors?.find((e) => e.code)?.code;
  if (code && PHRASES[code]) return PHRASES[code];
  const message = err.cause?.message?.split(/\r?\n/)[0];
  // OpenSSL's own format: `<id>:error:<code>:<library>:<function>:<reason>:<file>:<line>:`; the reason is the words.
  const detail = message?.match(/^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/)?.[1] ?? message;
  if (code && isTlsCode(code)) return `TLS handshake failed (${code}${detail ? `: ${detail}` : ''})`;
  return `${code ?? err.message ?? String(error)}${detail && detail !== code ? ` (${detail})` : ''}`;
}

/** The same as a sentence naming the host: `could not reach api.digitalocean.com (connection refused)`. */
export function unreachable(url: string, error: unknown, timeoutMs: number): string {
  return `could not reach ${new URL(url).host} (${describeFetchError(error, timeoutMs)})`;
}
