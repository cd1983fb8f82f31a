/**
 * /api/events: Server-Sent Events. First the lines so far of the operations still running, then every event
 * as it happens; a comment every `heartbeatMs` keeps proxies from closing the stream, and at each one the
 * request's user is checked again (a session that expired, a user removed: the stream ends, saying so).
 */
import type http from 'node:http';
import type { Activity, ActivityEvent } from '../../status/activity.js';

export interface EventStreams {
  open(req: http.IncomingMessage, res: http.ServerResponse, stillAllowed: () => string | undefined): void;
  /** Ends every stream (the server stops). */
  closeAll(): void;
}

const HEARTBEAT_MS = 20_000;

export function createEventStreams(activity: Activity, options: { heartbeatMs?: number; headers: Record<string, string> }): EventStreams {
  const streams = new Set<() => void>();
  return {
    open(req, res, stillAllowed) {
      res.writeHead(200, {
        ...options.headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      const send = (event: ActivityEvent | { type: 'signed-out'; message: string }) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      res.write('retry: 3000\n\n');
      for (const event of activity.running()) send(event);
      const unsubscribe = activity.subscribe(send);
      const heartbeat = setInterval(() => {
        const problem = stillAllowed();
        if (problem) {
          send({ type: 'signed-out', message: problem });
          end();
          return;
        }
        res.write(': still here\n\n');
      }, options.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(end);
        res.end();
      };
      streams.add(end);
      req.once('close', end);
    },
    closeAll() {
      for (const end of [...streams]) end();
    },
  };
}
