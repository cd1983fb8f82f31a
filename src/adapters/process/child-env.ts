import { isSecretVariable } from '../../core/config.js';

/**
 * The environment for a child process (git and what it runs): this process's, without secrets. `.env`
 * loads cloud credentials into process.env for the providers; no child needs them, and a child's
 * environment can be read by its hooks, its own children and, through /proc, by the same user.
 */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!isSecretVariable(name)) result[name] = value;
  return result;
}

/**
 * Removes the secrets from this process's own environment, once the configuration holds them: the children
 * that others spawn for us (node-git-server's git-receive-pack, and the hooks under it) inherit process.env.
 */
export function dropSecretsFromProcessEnv(): void {
  for (const name of Object.keys(process.env)) if (isSecretVariable(name)) delete process.env[name];
}
