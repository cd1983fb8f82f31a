import type { Colour } from '../../core/colour.js';
import type { CloudTiming } from '../http/cloud-client.js';

/** Moves production traffic between the colours. One small module per kind of infrastructure. */
export interface Provider {
  /** e.g. `digitalocean reserved IP 203.0.113.10`, for messages. */
  readonly description: string;
  /** The colour production traffic goes to now, as the infrastructure reports it; undefined if neither. */
  liveColour(): Promise<Colour | undefined>;
  /** Moves traffic to `colour` and resolves once the infrastructure reports the move done. */
  moveTraffic(colour: Colour, say: (line: string) => void): Promise<void>;
  /** Releases sockets, timers, servers. */
  close(): Promise<void>;
  /** Where production answers when BLUEGREEN_PUBLIC_URL is unset, for a provider that knows (`azure-slots`). */
  productionUrl?(): Promise<string>;
  /** Which colour is in which slot, for a provider that decides where colours live (`azure-slots`). */
  slots?(): Promise<SlotStatus[]>;
}

/** One slot as status shows it. */
export interface SlotStatus {
  slot: string;
  colour: Colour;
  host: string;
  /** The REVISION it serves, or null. */
  revision: string | null;
}

/**
 * Timing knobs shared by all providers; tests inject a virtual clock. Defaults (each provider's own) suit the
 * real APIs. `pollIntervalMs`: pause between polls when the API does not say (Retry-After); `deadlineMs`:
 * `moveTraffic` (and each read) gives up after this long, saying where traffic points then; `requestTimeoutMs`:
 * per HTTP request.
 */
export type ProviderOptions = Partial<CloudTiming> & {
  /** Where a provider tells what it found and corrected on its own (`azure-slots`: a swap made elsewhere); default stderr. */
  log?: (line: string) => void;
};
