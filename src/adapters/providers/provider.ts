import type { Colour } from '../../core/colour.js';

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
}
