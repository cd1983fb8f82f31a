/**
 * What a user may do, by role: a viewer fetches and clones (and reads the status page), a deployer also
 * pushes, an operator also flips and rolls back from the status page. Every door asks here.
 */
export const ROLES = ['viewer', 'deployer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** New users' role, and what users from before roles existed are. */
export const DEFAULT_ROLE: Role = 'deployer';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function mayPush(role: Role): boolean {
  return role !== 'viewer';
}

/** Why `name` may not push: the same words over HTTP (403) and SSH. */
export function pushRefusal(name: string, role: Role): string {
  return `${name} is a ${role}: pushing needs the deployer role (or operator); an administrator can run \`bluegreen user role ${name} deployer\``;
}

export function mayFlip(role: Role): boolean {
  return role === 'operator';
}

/** Why `name` may not flip or roll back (the status page's API answers it with 403). */
export function flipRefusal(name: string, role: Role): string {
  return `${name} is a ${role}: flipping and rolling back need the operator role; an administrator can run \`bluegreen user role ${name} operator\``;
}
