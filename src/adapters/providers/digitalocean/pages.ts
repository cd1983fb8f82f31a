/** DigitalOcean's paginated lists: the first page, then each `links.pages.next` until there is none. */
import type { CloudClient } from '../../http/cloud-client.js';

/** Every item under `key` on every page of the list at `path` (ask for `per_page=200`, the most the API gives). */
export async function listAllPages<T>(api: CloudClient, path: string, key: string, deadline: number): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  // The next page is an absolute URL; the client refuses one outside DIGITALOCEAN_API_URL's origin.
  for (let url: string | undefined = path; url !== undefined && !seen.has(url); ) {
    seen.add(url);
    const answer = await api.request({ method: 'GET', url, deadline });
    const page: unknown = answer.body?.[key];
    if (Array.isArray(page)) items.push(...(page as T[]));
    const next: unknown = answer.body?.links?.pages?.next;
    url = typeof next === 'string' && next !== '' ? next : undefined;
  }
  return items;
}
