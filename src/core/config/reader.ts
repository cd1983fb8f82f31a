import type { z } from 'zod';
import { isSecretVariable } from './secrets.js';
import type { Env } from './types.js';

/** Reads variables through schemas, collecting every problem (each naming the variable; never a secret's value). */
export interface Reader {
  readonly env: Env;
  readonly errors: string[];
  /** The parsed value; `fallback` when unset or empty, or when the value is bad (the problem is recorded). */
  read<T>(name: string, schema: z.ZodType<T, string>, fallback: T): T;
  read<T>(name: string, schema: z.ZodType<T, string>): T | undefined;
  /** Like `read`, but unset is a problem too, saying `why` the variable is needed. */
  required<T>(name: string, why: string, schema: z.ZodType<T, string>, fallback: T): T;
  /** Records a problem with a variable's value. */
  problem(name: string, message: string): void;
  /** True when the variable is set to something. */
  isSet(name: string): boolean;
}

export function createReader(env: Env): Reader {
  const errors: string[] = [];
  const isSet = (name: string) => env[name] !== undefined && env[name] !== '';
  const problem = (name: string, message: string) => {
    const raw = env[name] ?? '';
    const shown = isSecretVariable(name) ? '(value hidden)' : JSON.stringify(raw);
    errors.push(`${name}=${shown}: ${message}`);
  };
  function read<T>(name: string, schema: z.ZodType<T, string>, fallback?: T): T | undefined {
    if (!isSet(name)) return fallback;
    const result = schema.safeParse(env[name]);
    if (result.success) return result.data;
    problem(name, result.error.issues.map((issue) => issue.message).join('; '));
    return fallback;
  }
  return {
    env,
    errors,
    read,
    required<T>(name: string, why: string, schema: z.ZodType<T, string>, fallback: T): T {
      if (!isSet(name)) {
        errors.push(`${name} is not set: ${why}`);
        return fallback;
      }
      return read(name, schema, fallback) as T;
    },
    problem,
    isSet,
  };
}
