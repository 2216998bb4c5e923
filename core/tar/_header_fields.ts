/**
 * Decoding of the fixed fields of a 512-byte tar header block. Every function reads straight from a block that may be a
 * view into the caller's chunk (`b` at offset `p`), so a header is never copied just to be read.
 *
 * @module
 */

/** Size of a tar header or data block. */
export const BLOCK_SIZE = 512;

const SPACE = 0x20;
const NUL = 0;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Parse an octal field the way GNU tar does: leading spaces and NULs are skipped, the digits end at a space, a NUL or
 * the end of the field, and whatever follows that terminator is ignored. An empty field is 0. Returns NaN when a
 * non-octal character stands where a digit should.
 */
function parseOctal(
  b: Uint8Array,
  start: number,
  length: number,
): number {
  const end = start + length;
  let i = start;
  while (i < end && (b[i] === SPACE || b[i] === NUL)) i++;
  let value = 0;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    value = value * 8 + (c - 0x30);
    i++;
  }
  if (i < end && b[i] !== SPACE && b[i] !== NUL) return NaN;
  return value;
}

/**
 * Parse a numeric field that is octal text or, when the first byte has its high bit set, a GNU/star base-256
 * two's-complement number (bit 6 of the first byte is the sign). Returns NaN when the value is not a safe integer or
 * the text is not octal.
 */
export function parseNumeric(
  b: Uint8Array,
  start: number,
  length: number,
): number {
  const first = b[start]!;
  if ((first & 0x80) === 0) return parseOctal(b, start, length);
  const negative = (first & 0x40) !== 0;
  // For a negative number, accumulate the inverted bits: -(inverted + 1).
  const flip = negative ? 0xff : 0;
  let value = (first ^ flip) & 0x7f;
  for (let i = start + 1; i < start + length; i++) {
    value = value * 256 + (b[i]! ^ flip);
    if (value > Number.MAX_SAFE_INTEGER) return NaN;
  }
  return negative ? -(value + 1) : value;
}

/** Index of the first NUL in `b[start, start + length)`, or the field's end. */
export function fieldEnd(b: Uint8Array, start: number, length: number): number {
  const end = start + length;
  for (let i = start; i < end; i++) if (b[i] === NUL) return i;
  return end;
}

/** Decode `b[start, end)` as UTF-8; short ASCII fields skip the decoder. */
export function decodeText(b: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  let text = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return utf8.decode(b.subarray(start, end));
    text += String.fromCharCode(c);
  }
  return text;
}

/** The outcome of checking a header block's checksum. */
export type ChecksumResult =
  | { readonly kind: "zero" }
  | { readonly kind: "ok" }
  | {
    readonly kind: "bad";
    readonly recorded: number;
    readonly computed: number;
  };

const ZERO: ChecksumResult = { kind: "zero" };
const OK: ChecksumResult = { kind: "ok" };

/**
 * Check the header checksum of the block at `b[p]`. POSIX sums unsigned bytes with the checksum field counted as
 * spaces; old Sun, BSD and HP-UX tars summed signed bytes, and GNU tar accepts either, so we do too. An all-zero block
 * is reported as such (it marks the end of the archive).
 */
export function checkHeader(b: Uint8Array, p: number): ChecksumResult {
  let sum = 0;
  for (let i = p; i < p + BLOCK_SIZE; i++) sum += b[i]!;
  if (sum === 0) return ZERO;
  for (let i = p + 148; i < p + 156; i++) sum -= b[i]!;
  const unsigned = sum + 8 * SPACE;
  const recorded = parseOctal(b, p + 148, 8);
  if (recorded === unsigned) return OK;
  // Rare: only old tars with signed sums (or damage) get here.
  let high = 0;
  for (let i = p; i < p + BLOCK_SIZE; i++) {
    if (b[i]! >= 0x80 && (i < p + 148 || i >= p + 156)) high++;
  }
  if (recorded === unsigned - 256 * high) return OK;
  return { kind: "bad", recorded, computed: unsigned };
}
