/**
 * A 5x7 pixel font for the few words and numbers drawn into generated pictures (the training
 * curve's axis titles and tick numbers). Each glyph is 35 bits, row by row from the top, the
 * leftmost pixel first; characters it lacks draw as a box.
 */
const GLYPHS: Record<string, number> = {
  '0': 0x3a33ae62e,
  '1': 0x11842108e,
  '2': 0x3a211111f,
  '3': 0x7c441062e,
  '4': 0x08ca97c42,
  '5': 0x7e1e0862e,
  '6': 0x1910f462e,
  '7': 0x7c2222108,
  '8': 0x3a317462e,
  '9': 0x3a317844c,
  '.': 0x00000018c,
  ',': 0x000003088,
  '-': 0x0000f8000,
  '+': 0x0084f9080,
  ':': 0x018c03180,
  '(': 0x088842082,
  ')': 0x208210888,
  '/': 0x002222200,
  '=': 0x001f07c00,
  ' ': 0x000000000,
  a: 0x000e0be2f,
  b: 0x4216cc63e,
  c: 0x000e8422e,
  d: 0x042d9c62f,
  e: 0x000e8fe0e,
  f: 0x1928e2108,
  g: 0x01f18bc2e,
  h: 0x4216cc631,
  i: 0x100c2108e,
  j: 0x080610a4c,
  k: 0x4212a6292,
  l: 0x30842108e,
  m: 0x001aad631,
  n: 0x0016cc631,
  o: 0x000e8c62e,
  p: 0x001e8fa10,
  q: 0x000d9bc21,
  r: 0x0016cc210,
  s: 0x000e8383e,
  t: 0x211c42126,
  u: 0x00118c66d,
  v: 0x00118c544,
  w: 0x00118d6aa,
  x: 0x001151151,
  y: 0x00118bc2e,
  z: 0x001f1111f,
  A: 0x3a31fc631,
  B: 0x7a31f463e,
  C: 0x3a308422e,
  D: 0x72518c65c,
  E: 0x7e10f421f,
  F: 0x7e10f4210,
  G: 0x3a30bc62f,
  H: 0x4631fc631,
  I: 0x38842108e,
  J: 0x1c4210a4c,
  K: 0x4654c5251,
  L: 0x42108421f,
  M: 0x4775ac631,
  N: 0x4639ace31,
  O: 0x3a318c62e,
  P: 0x7a31f4210,
  Q: 0x3a318d64d,
  R: 0x7a31f5251,
  S: 0x3e107043e,
  T: 0x7c8421084,
  U: 0x46318c62e,
  V: 0x46318c544,
  W: 0x4631ad6aa,
  X: 0x462a22a31,
  Y: 0x463151084,
  Z: 0x7c222221f,
};

const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
const ADVANCE = GLYPH_WIDTH + 1;
const MISSING = 0x7e318c63f; // a box

/** Width in pixels of `text` at `scale` (pixels per font pixel). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Calls `put(x, y)` for every lit pixel of `text` with its top-left corner at (x, y). */
export function rasterText(text: string, x: number, y: number, put: (x: number, y: number) => void, scale = 1): void {
  [...text].forEach((char, index) => {
    const glyph = GLYPHS[char] ?? MISSING;
    if (glyph === 0) return;
    for (let bit = 0; bit < GLYPH_WIDTH * GLYPH_HEIGHT; bit++) {
      // Bits past 32 are out of reach of JS bitwise operators: read them arithmetically.
      if (Math.floor(glyph / 2 ** (GLYPH_WIDTH * GLYPH_HEIGHT - 1 - bit)) % 2 === 0) continue;
      const gx = x + (index * ADVANCE + (bit % GLYPH_WIDTH)) * scale;
      const gy = y + Math.floor(bit / GLYPH_WIDTH) * scale;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) put(gx + dx, gy + dy);
    }
  });
}
