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
