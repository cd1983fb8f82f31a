/** The droplets that carry a tag, with their IPv4 addresses: a colour found by tag (`BLUE_TAG`). */
import type { CloudClient } from '../../http/cloud-client.js';
import { listAllPages } from './pages.js';

export interface TaggedDroplet {
  id: number;
  name: string;
  /** `networks.v4` as the API lists it: `type` is `public` or `private`. */
  v4: Array<{ ip: string; type: string }>;
}

interface ApiDroplet {
  id: number;
  name: string;
  networks?: { v4?: Array<{ ip_address: string; type: string }> };
}

/** Every droplet tagged `tag` (`GET /v2/droplets?tag_name=`, all pages), in the API's order. */
export async function taggedDroplets(api: CloudClient, tag: string, deadline: number): Promise<TaggedDroplet[]> {
  const droplets = await listAllPages<ApiDroplet>(api, `/v2/droplets?tag_name=${encodeURIComponent(tag)}&per_page=200`, 'droplets', deadline);
  return droplets.map((d) => ({ id: d.id, name: d.name, v4: (d.networks?.v4 ?? []).map((n) => ({ ip: n.ip_address, type: n.type })) }));
}
