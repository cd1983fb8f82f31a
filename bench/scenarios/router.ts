/**
 * The local router under a steady request load across 20 flips. The router and its two backends run in a
 * child process (bench/scenarios/router-child.ts), so the load and the flips (the provider, as `bluegreen flip`
 * runs it) don't share its event loop.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalProvider } from '../../src/adapters/providers/local/router.js';
import type { Colour } from '../../src/core/colour.js';
import { type Summary, summarize } from '../measure.js';

export interface RouterResult {
  flips: number;
  requests: number;
  failures: number;
  failureSamples: string[];
  /** Responses from the old colour to requests sent after moveTraffic had resolved. */
  staleAfterSwitch: number;
  /** moveTraffic durations (s): write the state file, poll until the router reports the colour. */
  switchSeconds: Summary;
  /** From the start of moveTraffic to the first response served by the new colour (s). */
  firstNewResponseSeconds: Summary;
  requestsPerSecond: number;
  latencyMs: Summary;
  concurrency: number;
}

export async function routerUnderLoad(options: { flips: number; concurrency: number; maxRequests: number; maxSeconds: number }): Promise<RouterResult> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, [path.join(here, 'router-child.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise<{ url: string; port: number; stateFile: string }>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as { url: string; port: number; stateFile: string });
    });
    child.once('exit', (code) => reject(new Error(`router child exited ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const provider = createLocalProvider({ listen: { host: '127.0.0.1', port: info.port }, stateFile: info.stateFile });
    await provider.moveTraffic('blue', () => {});

    const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
    let requests = 0;
    let failures = 0;
    const failureSamples: string[] = [];
    const latencies: number[] = [];
    let stale = 0;
    // The flip in progress: colour, when it started, when moveTraffic resolved, first new-colour response.
    let flip: { to: Colour; from: Colour; started: number; done?: number; firstNew?: number } | undefined;
    const firstNew: number[] = [];
    let stop = false;
    const started = performance.now();
    const deadline = started + options.maxSeconds * 1000;

    const get = () =>
      new Promise<string>((resolve, reject) => {
        const req = http.get(info.url, { agent, timeout: 10_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 100)}`))));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });

    const worker = async () => {
      while (!stop && requests < options.maxRequests && performance.now() < deadline) {
        requests++;
        const sent = performance.now();
        const current = flip;
        try {
          const body = await get();
          const now = performance.now();
          latencies.push(now - sent);
          if (current && body === current.to && current.firstNew === undefined) current.firstNew = now;
          if (current?.done !== undefined && sent > current.done && body === current.from && flip === current) stale++;
        } catch (error) {
          failures++;
          if (failureSamples.length < 10) failureSamples.push((error as Error).message);
        }
      }
    };
    const workers = Array.from({ length: options.concurrency }, () => worker());

    const switches: number[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(300);
    let colour: Colour = 'blue';
    for (let i = 0; i < options.flips && performance.now() < deadline; i++) {
      const from = colour;
      colour = colour === 'blue' ? 'green' : 'blue';
      const current: NonNullable<typeof flip> = { to: colour, from, started: performance.now() };
      flip = current;
      await provider.moveTraffic(colour, () => {});
      current.done = performance.now();
      switches.push((current.done - current.started) / 1000);
      await sleep(250);
      if (current.firstNew !== undefined) firstNew.push((current.firstNew - current.started) / 1000);
    }
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      flips: switches.length,
      requests,
      failures,
      failureSamples,
      staleAfterSwitch: stale,
      switchSeconds: summarize(switches),
      firstNewResponseSeconds: summarize(firstNew),
      requestsPerSecond: requests / elapsed,
      latencyMs: summarize(latencies),
      concurrency: options.concurrency,
    };
  } finally {
    child.stdin.end();
    await exited;
  }
}
