/**
 * The status page's files, served from the package itself (web/, and preact and htm from node_modules): no
 * CDN, works offline. Read once when the server starts; a handful of small files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../package-root.js';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface PageAssets {
  /** By URL path, e.g. `/assets/app.js`. */
  files: ReadonlyMap<string, Asset>;
  /** The page itself, once signed in. */
  index: Asset;
  /** The sign-in page, with `message` (plain text, escaped here) above the form. */
  login(message: string): Buffer;
  /** The Content-Security-Policy for the pages: only these files run (the inline import map by its hash). */
  csp: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(body: Buffer, file: string): Asset {
  return { body, type: TYPES[path.extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's own files under web/, and the libraries' browser builds under /assets/vendor/. */
export function loadPageAssets(): PageAssets {
  const webDir = path.join(packageRoot(), 'web');
  const files = new Map<string, Asset>();
  for (const name of ['app.js', 'style.css', 'favicon.svg']) {
    const file = path.join(webDir, name);
    files.set(`/assets/${name}`, asset(readFileSync(file), file));
  }
  // The ES module builds; the page's import map points the bare names (`preact`, ...) at them.
  const vendor: Record<string, string> = { 'preact.mjs': 'preact', 'hooks.mjs': 'preact/hooks', 'htm.mjs': 'htm' };
  for (const [name, specifier] of Object.entries(vendor)) {
    const file = fileURLToPath(import.meta.resolve(specifier));
    files.set(`/assets/vendor/${name}`, asset(readFileSync(file), file));
  }
  const html = readFileSync(path.join(webDir, 'index.html'), 'utf8');
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  const loginTemplate = readFileSync(path.join(webDir, 'login.html'), 'utf8');
  return {
    files,
    index: asset(Buffer.from(html), 'index.html'),
    login: (message) =>
      Buffer.from(loginTemplate.replace('<!--message-->', message ? `<p class="problem" role="alert">${escapeHtml(message)}</p>` : '')),
    csp,
  };
}
