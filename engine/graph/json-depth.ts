/**
 * How deeply JSON may nest, for every JSON fewstep reads from outside (request bodies, workflow
 * files, PNG text chunks). Real workflows nest under ten levels; a value nested thousands deep
 * parses, but can never be written back (JSON.stringify recurses), so it is refused up front.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * True when the JSON text in `bytes` (UTF-8) opens more than `limit` objects or arrays inside
 * each other. Reads the bytes once, before parsing, skipping strings with a native search; text
 * that is not JSON is left to the parser to report.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit = MAX_JSON_DEPTH): boolean {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  for (let i = 0; i < buffer.length; i++) {
    const byte = buffer[i];
    if (byte === QUOTE) {
      i = closingQuote(buffer, i);
      if (i < 0) return false;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote closing the string opened at `open`, or -1 when it never closes. */
function closingQuote(buffer: Buffer, open: number): number {
  let at = open;
  for (;;) {
    at = buffer.indexOf(QUOTE, at + 1);
    if (at < 0) return -1;
    // A quote after an odd run of backslashes is escaped; runs are disjoint, so this stays linear.
    let backslashes = 0;
    while (buffer[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
