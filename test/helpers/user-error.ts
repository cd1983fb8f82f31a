import type { Test } from 'tap';
import { UserError } from '../../src/core/errors.js';

/**
 * Asserts that `promise` rejects with a UserError whose message (and hint) match, and that neither carries
 * any of `secrets`. Returns the error for further checks.
 */
export async function rejectsWithUserError(
  t: Test,
  promise: Promise<unknown>,
  expected: { message: RegExp; hint?: RegExp; secrets: readonly (string | RegExp)[] },
): Promise<UserError | undefined> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as UserError | undefined;
  t.type(error, UserError);
  t.match(error?.message, expected.message);
  if (expected.hint) t.match(error?.hint, expected.hint);
  for (const secret of expected.secrets) t.notMatch(`${error?.message} ${error?.hint}`, secret);
  return error;
}
