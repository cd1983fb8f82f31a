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
  /** True when the variable is set to something. */
  isSet(name: string): boolean;
}

export function createReader(env: Env): Reader {
  const errors: string[] = [];
  const isSet = (name: string) => env[name] !== undefined && env[name] !== '';
  function read<T>(name: string, schema: z.ZodType<T, string>, fallback?: T): T | undefined {
    if (!isSet(name)) return fallback;
    const result = schema.safeParse(env[name]);
    if (result.success) return result.data;
    const shown = isSecretVariable(name) ? '(value hidden)' : JSON.stringify(env[name]);
    errors.push(`${name}=${shown}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
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
    isSet,
  };
}
