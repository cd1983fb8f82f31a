import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../core/colour.js';
import type { NotificationEvent } from '../../core/notification.js';

export interface DeployRecord {
  type: 'deploy';
  at: string;
  colour: Colour;
  revision: string;
  release: string;
  by: string;
  outcome: 'deployed' | 'failed';
  error?: string;
  durationMs: number;
  /** The colour's hosts the deploy went to. */
  hosts?: string[];
  /** How the record came about, when not by the deploy itself. */
  note?: string;
  files?: { added: number; changed: number; removed: number };
  bytesSent?: number;
}

export interface ActivateRecord {
  type: 'activate';
  at: string;
  colour: Colour;
  revision: string | undefined;
  release: string;
  by: string;
  /** Set when the schema guard was overridden (`activate --force` of the live colour). */
  note?: string;
}

export interface FlipRecord {
  type: 'flip';
  at: string;
  from: Colour | undefined;
  to: Colour;
  revisions: Partial<Record<Colour, string>>;
  by: string;
  /** flipped; flipped-back (post-flip check failed, traffic returned); failed (traffic state in error). */
  outcome: 'flipped' | 'flipped-back' | 'failed';
  error?: string;
  /** How the flip came about, e.g. forced past the schema guard. */
  note?: string;
  durationMs: number;
  phases?: Record<string, number>;
}

/** A notice (BLUEGREEN_NOTIFY_URLS) that could not be delivered within its retries. */
export interface NotifyRecord {
  type: 'notify';
  at: string;
  /** The notice's event, colour and outcome. */
  event: NotificationEvent;
  colour: Colour;
  ok: boolean;
  revision: string | null;
  /** The webhook's host:port only: its path and query often hold a token. */
  endpoint: string;
  outcome: 'undelivered';
  error: string;
  attempts: number;
}

export type HistoryRecord = DeployRecord | ActivateRecord | FlipRecord | NotifyRecord;

const historyPath = (dataDir: string) => path.join(dataDir, 'history.jsonl');

/** Appends one record and syncs it to disk. A crash mid-write leaves at most a torn last line, skipped on read. */
export async function appendHistory(dataDir: string, record: HistoryRecord): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const handle = await open(historyPath(dataDir), 'a', 0o600);
  try {
    // Starting with a newline isolates this record from a torn line a crash may have left.
    await handle.write(`\n${JSON.stringify(record)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** All records, newest first. */
export async function readHistory(dataDir: string): Promise<HistoryRecord[]> {
  let text: string;
  try {
    text = await readFile(historyPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as HistoryRecord);
    } catch {
      // a torn line from a crash mid-write
    }
  }
  return records.reverse();
}

/** The revision a colour serves according to the last successful deploy or activation. */
export function deployedRevision(history: readonly HistoryRecord[], colour: Colour): { revision: string; at: string; release: string; by: string } | undefined {
  for (const record of history) {
    if (record.type === 'deploy' && record.colour === colour && record.outcome === 'deployed') return record;
    if (record.type === 'activate' && record.colour === colour && record.revision) return { ...record, revision: record.revision };
  }
  return undefined;
}
