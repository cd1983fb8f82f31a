import { type Colour, otherColour } from './colour.js';
import { UserError } from './errors.js';
import { shortSha } from './format.js';

/** What is known before a flip: gathered by the caller, decided on here. */
export interface FlipFacts {
  target: Colour;
  /** The live colour as the provider reports it. */
  live: Colour | undefined;
  /** The revision last deployed (or activated) on each colour. */
  deployed: Partial<Record<Colour, string>>;
  /** Who holds each colour's lock, if anyone. */
  busy: Partial<Record<Colour, { holder: string; purpose: string }>>;
  /** The target's hosts' own addresses (as found now): a flip verifies every one. */
  hostUrls: Partial<Record<Colour, string[]>>;
  publicUrl: string | undefined;
  healthPath: string;
  provider: string;
}

export type FlipStep =
  | { step: 'verify-host'; colour: Colour; url: string; healthPath: string; revision: string; hosts: number }
  | { step: 'move'; to: Colour; provider: string }
  | { step: 'verify-public'; colour: Colour; url: string; healthPath: string; revision: string };

export interface FlipPlan {
  from: Colour | undefined;
  to: Colour;
  revision: string;
  /** True when the target is live already: the flip only verifies it. */
  alreadyLive: boolean;
  steps: FlipStep[];
  /** What runs if the check through the public address fails: back to where traffic was. */
  flipBack: FlipStep[];
}

/** Decides a flip, or refuses it. Pure. */
export function planFlip(facts: FlipFacts): FlipPlan {
  const { target } = facts;
  const revision = facts.deployed[target];
  if (!revision) {
    throw new UserError(`refused: nothing has been deployed to ${target}`, { hint: `deploy first: git push ${target} main` });
  }
  // A flip holds both colours: traffic leaves one (and may come back to it) and arrives at the other.
  for (const colour of [target, otherColour(target)]) {
    const holder = facts.busy[colour];
    if (holder) {
      const why = colour === target ? '' : ', and a flip moves traffic between both colours';
      throw new UserError(`refused: ${colour} is busy with a ${holder.purpose} by ${holder.holder}${why}`, {
        hint: 'flip when it is done (`bluegreen status` shows locks)',
      });
    }
  }
  if (!facts.publicUrl) {
    throw new UserError('refused: BLUEGREEN_PUBLIC_URL is not set, so the flip could not be verified through the production address', {
      exitCode: 2,
      hint: 'set BLUEGREEN_PUBLIC_URL in .env to the address production traffic arrives at',
    });
  }
  const hostUrls = facts.hostUrls[target] ?? [];
  const verifyHosts: FlipStep[] = hostUrls.map((url) => ({ step: 'verify-host', colour: target, url, healthPath: facts.healthPath, revision, hosts: hostUrls.length }));
  const verifyPublic = (colour: Colour, rev: string): FlipStep => ({
    step: 'verify-public',
    colour,
    url: facts.publicUrl ?? '',
    healthPath: facts.healthPath,
    revision: rev,
  });
  if (facts.live === target) {
    return { from: target, to: target, revision, alreadyLive: true, steps: verifyHosts, flipBack: [] };
  }
  const from = facts.live;
  const previousRevision = from ? facts.deployed[from] : undefined;
  return {
    from,
    to: target,
    revision,
    alreadyLive: false,
    steps: [...verifyHosts, { step: 'move', to: target, provider: facts.provider }, verifyPublic(target, revision)],
    flipBack:
      from && previousRevision
        ? [{ step: 'move', to: from, provider: facts.provider }, verifyPublic(from, previousRevision)]
        : from
          ? [{ step: 'move', to: from, provider: facts.provider }]
          : [],
  };
}

/** One line per step, for --dry-run and the confirmation prompt. */
export function describeFlipPlan(plan: FlipPlan): string[] {
  const lines = plan.alreadyLive
    ? [`${plan.to} is live already; the flip would only verify it`]
    : [`flip ${plan.from ?? 'nothing'} -> ${plan.to} (${shortSha(plan.revision)})`];
  plan.steps.forEach((step, i) => lines.push(`  ${i + 1}. ${describeStep(step)}`));
  if (plan.flipBack.length > 0) {
    lines.push(`  if step ${plan.steps.length} fails: ${plan.flipBack.map(describeStep).join(', then ')}`);
  }
  return lines;
}

export function describeStep(step: FlipStep): string {
  switch (step.step) {
    case 'verify-host':
      return `check ${step.colour} at ${step.url}: ${step.healthPath} answers 2xx and /REVISION is ${shortSha(step.revision)}`;
    case 'move':
      return `move traffic to ${step.to} (${step.provider})`;
    case 'verify-public':
      return `check ${step.url}: /REVISION is ${step.colour}'s ${shortSha(step.revision)}`;
  }
}

/** The colour a rollback flips to: the one that was live before the last successful flip. */
export function rollbackTarget(lastFlip: { from: Colour | undefined; to: Colour } | undefined): Colour {
  if (!lastFlip) throw new UserError('refused: there is no flip to roll back', { hint: 'flip with `bluegreen flip blue|green`' });
  if (!lastFlip.from) {
    throw new UserError(`refused: no colour was live before the last flip to ${lastFlip.to}`, {
      hint: `to move traffic anyway: \`bluegreen flip ${otherColour(lastFlip.to)}\``,
    });
  }
  return lastFlip.from;
}
