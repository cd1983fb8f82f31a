/**
 * What a webhook in BLUEGREEN_NOTIFY_URLS is told (DESIGN.md, "Notifications"): one notice per operation, as
 * the JSON body `{event, ok, colour, revision, by, at, message, text}`. Pure: the notifier (src/notify/notifier.ts)
 * signs and sends it.
 */
import type { Colour } from './colour.js';
import { shortSha } from './format.js';

export const NOTIFICATION_EVENTS = ['deploy', 'flip', 'flip-back', 'rollback', 'activate', 'sync'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** One operation's outcome, as the service that ran it reports it. */
export interface Notice {
  event: NotificationEvent;
  ok: boolean;
  /** The colour acted on; for a flip, a rollback and a flip-back, where traffic went. */
  colour: Colour;
  /** The revision concerned, when one is known. */
  revision: string | null;
  /** The pushing user, or the login name for a CLI command. */
  by: string;
  /** What happened, in the operation's own words (its closing line, or its error). */
  message: string;
}

export interface NotificationBody extends Notice {
  /** When the operation ended (ISO 8601). */
  at: string;
  /** One line, for chat webhooks (Slack, Mattermost) that show `text` as is. */
  text: string;
}

/** The signature header's name; its value is `sha256=<hex HMAC-SHA256 of the body with BLUEGREEN_NOTIFY_SECRET>`. */
export const SIGNATURE_HEADER = 'X-Bluegreen-Signature';

const MAX_TEXT = 400;
const short = (revision: string | null) => (revision ? ` ${shortSha(revision)}` : '');
const oneLine = (text: string) => text.replace(/\s*[\r\n]+\s*/g, ' ').trim();

function headline(notice: Notice): string {
  const { colour, revision, ok } = notice;
  switch (notice.event) {
    case 'deploy':
      return ok ? `deployed${short(revision)} to ${colour}` : `deploy of${short(revision)} to ${colour} FAILED`;
    case 'flip':
      return ok ? `${colour} is live${short(revision)}` : `flip to ${colour} FAILED`;
    case 'flip-back':
      return ok ? `flipped back: ${colour} is live again` : `flipping back to ${colour} FAILED`;
    case 'rollback':
      return ok ? `rolled back: ${colour} is live${short(revision)}` : `rollback to ${colour} FAILED`;
    case 'activate':
      return ok ? `activated${short(revision)} on ${colour}` : `activate on ${colour} FAILED`;
    case 'sync':
      return ok ? `synced ${colour} to${short(revision)}, the live colour's revision` : `sync of ${colour} FAILED`;
  }
}

/** The one-line `text`: the headline, who, and for a failure why. */
export function notificationText(notice: Notice): string {
  const text = `bluegreen: ${headline(notice)} (by ${notice.by})${notice.ok ? '' : `: ${oneLine(notice.message)}`}`;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

/** The JSON body sent to every webhook, in the contract's field order. */
export function notificationBody(notice: Notice, at: Date): string {
  const body: NotificationBody = {
    event: notice.event,
    ok: notice.ok,
    colour: notice.colour,
    revision: notice.revision,
    by: notice.by,
    at: at.toISOString(),
    message: oneLine(notice.message),
    text: notificationText(notice),
  };
  return JSON.stringify(body);
}

/**
 * A webhook's address for messages and history: its host and port only (the path and query often hold a
 * token, e.g. Slack's /services/T…/B…/secret).
 */
export function endpointLabel(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return `${parsed.hostname}:${port}`;
}
