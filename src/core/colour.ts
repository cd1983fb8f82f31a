export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];

export function isColour(value: string): value is Colour {
  return (COLOURS as readonly string[]).includes(value);
}

export function otherColour(colour: Colour): Colour {
  return colour === 'blue' ? 'green' : 'blue';
}
