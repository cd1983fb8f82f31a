/** The user name and token from an `Authorization: Basic` header, or undefined when there is none that parses. */
export function basicCredentials(header: string | undefined): { name: string; token: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { name: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}
