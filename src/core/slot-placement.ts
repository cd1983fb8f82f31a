/**
 * Which colour is in which App Service slot (`azure-slots`): the record bluegreen keeps, checked against the
 * REVISION each slot serves and each colour's last deploy. Pure: the caller reads, this decides.
 */
import { COLOURS, type Colour, otherColour } from './colour.js';
import { UserError } from './errors.js';
import { shortSha } from './format.js';

export type SlotRole = 'production' | 'idle';

export interface PlacementFacts {
  /** The colour in production as last recorded; undefined before any record (blue, then). */
  recorded: Colour | undefined;
  /** What each slot serves (its REVISION), undefined when it serves none. */
  serving: Record<SlotRole, string | undefined>;
  /** Each colour's last deploy. */
  deployed: Partial<Record<Colour, string>>;
  /** Names of the slots and their hosts, for messages: `production (myapp.azurewebsites.net)`. */
  names: Record<SlotRole, string>;
}

export interface Placement {
  /** The colour in production (the other is in the idle slot). */
  production: Colour;
  /** Set when the record was missing or wrong: the line saying what was found (the caller writes the record). */
  corrected: string | undefined;
}

/** Whose last deploy `revision` is: a colour, or undefined when none or both (a synced pair tells nothing). */
function ownerOf(revision: string | undefined, deployed: Partial<Record<Colour, string>>): Colour | undefined {
  if (!revision) return undefined;
  const owners = COLOURS.filter((colour) => deployed[colour] === revision);
  return owners.length === 1 ? owners[0] : undefined;
}

/**
 * The record stands unless a slot serves the other colour's last deploy: then the slots were swapped outside
 * bluegreen (portal, CLI) and the record is corrected. Slots that say opposite things are refused.
 */
export function decidePlacement(facts: PlacementFacts): Placement {
  const assumed = facts.recorded ?? 'blue';
  const roles: SlotRole[] = ['production', 'idle'];
  const evidence = roles.flatMap((role) => {
    const owner = ownerOf(facts.serving[role], facts.deployed);
    return owner ? [{ role, owner, production: role === 'production' ? owner : otherColour(owner) }] : [];
  });
  const readings = new Set(evidence.map((e) => e.production));
  if (readings.size > 1) {
    const said = evidence.map((e) => `${facts.names[e.role]} serves ${shortSha(facts.serving[e.role] as string)}, ${e.owner}'s last deploy`).join(', and ');
    throw new UserError(`cannot tell which colour is in which slot: ${said}`, {
      hint: `deploy each colour again (git push blue main, git push green main), or swap the slots back in the Azure portal`,
    });
  }
  const production = evidence[0]?.production ?? assumed;
  if (production === assumed) return { production, corrected: undefined };
  const seen = evidence.map((e) => `${facts.names[e.role]} serves ${e.owner}'s ${shortSha(facts.serving[e.role] as string)}`).join(' and ');
  return {
    production,
    corrected: `the slots were swapped outside bluegreen: ${seen}; now recorded: ${production} in ${facts.names.production}, ${otherColour(production)} in ${facts.names.idle}`,
  };
}
