/** BLUEGREEN_CONNECT_TO: like curl's `--connect-to HOST1:PORT1:HOST2:PORT2`, comma-separated. */
import { z } from 'zod';
import type { ConnectTo } from './types.js';
import { hostProblem } from './values.js';


const EXPECTED = 'expected HOST1:PORT1:HOST2:PORT2 (comma-separated), e.g. myapp.azurewebsites.net:443:127.0.0.1:8443';
const PART = String.raw`(\[[0-9A-Fa-f:.]+\]|[^:[\],\s]+)`;
const RULE = new RegExp(`^${PART}:(\\d{1,5}):${PART}:(\\d{1,5})$`);

export const connectToSchema = z.string().transform((value, ctx): ConnectTo[] => {
  const rules: ConnectTo[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    const match = RULE.exec(item);
    const unbracket = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();
    const problem = match ? [match[1]!, match[3]!].map((host) => hostProblem(unbracket(host)) && `${JSON.stringify(host)} is ${hostProblem(unbracket(host))}`).find(Boolean) : undefined;
    const ports = match ? [Number(match[2]), Number(match[4])] : [];
    if (!match || problem || ports.some((port) => port < 1 || port > 65535)) {
      const shown = JSON.stringify(item.slice(0, 80));
      ctx.addIssue({ code: 'custom', message: `${EXPECTED} (${shown}${problem ? `: ${problem}` : match ? ': ports are 1 to 65535' : ''})` });
      return z.NEVER;
    }
    rules.push({ host: unbracket(match[1]!), port: ports[0]!, toHost: unbracket(match[3]!), toPort: ports[1]! });
  }
  return rules;
});
