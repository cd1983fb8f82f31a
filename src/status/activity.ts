/**
 * What happens in the server as it happens: deploys' and flips' progress lines (the same lines the pusher or
 * the CLI sees) and "state changed" notices, for the status page's event stream. One hub per server; the push
 * handler's and the flip runner's `say` publish here, /api/events subscribes.
 */
import { EventEmitter } from 'node:events';
import type { Colour } from '../core/colour.js';

export type Operation = 'deploy' | 'flip' | 'rollback';

export type ActivityEvent =
  /** An operation began: its lines follow. */
  | { type: 'start'; operation: Operation; colour: Colour; by: string; at: string }
  | { type: 'progress'; operation: Operation; colour: Colour; by: string; line: string; at: string }
  /** An operation ended; `message` says why when it failed. */
  | { type: 'done'; operation: Operation; colour: Colour; by: string; ok: boolean; message: string; at: string }
  /** Status may read differently now (a lock taken or released, a release switched, traffic moved). */
  | { type: 'changed'; at: string };

type Running = Extract<ActivityEvent, { type: 'start' | 'progress' }>;

export interface Activity {
  start(operation: Operation, colour: Colour, by: string): void;
  progress(operation: Operation, colour: Colour, by: string, line: string): void;
  done(operation: Operation, colour: Colour, by: string, ok: boolean, message: string): void;
  changed(): void;
  /** Calls `listener` with every event from now on; returns the unsubscribe. */
  subscribe(listener: (event: ActivityEvent) => void): () => void;
  /** The events so far of the operations still running (a page opened mid-deploy shows its lines). */
  running(): ActivityEvent[];
}

/** Lines kept per running operation for late subscribers. */
const BACKLOG_LINES = 500;

export function createActivity(now: () => Date = () => new Date()): Activity {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const backlog = new Map<string, Running[]>();
  const key = (operation: Operation, colour: Colour) => `${operation} ${colour}`;
  const emit = (event: ActivityEvent) => emitter.emit('event', event);

  return {
    start(operation, colour, by) {
      const event: Running = { type: 'start', operation, colour, by, at: now().toISOString() };
      backlog.set(key(operation, colour), [event]);
      emit(event);
    },
    progress(operation, colour, by, line) {
      const event: Running = { type: 'progress', operation, colour, by, line, at: now().toISOString() };
      const lines = backlog.get(key(operation, colour));
      if (lines) {
        lines.push(event);
        if (lines.length > BACKLOG_LINES) lines.splice(1, lines.length - BACKLOG_LINES);
      }
      emit(event);
    },
    done(operation, colour, by, ok, message) {
      backlog.delete(key(operation, colour));
      emit({ type: 'done', operation, colour, by, ok, message, at: now().toISOString() });
    },
    changed() {
      emit({ type: 'changed', at: now().toISOString() });
    },
    subscribe(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    running: () => [...backlog.values()].flat(),
  };
}
