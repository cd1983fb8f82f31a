import { type Colour, isColour } from '../core/colour.js';
import { UserError } from '../core/errors.js';

export function parseColour(value: string): Colour {
  if (isColour(value)) return value;
  throw new UserError(`${JSON.stringify(value)} is not a colour: expected blue or green`, { exitCode: 2 });
}
