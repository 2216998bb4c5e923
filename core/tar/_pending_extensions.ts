/**
 * Extension headers and the state they leave for later members: a GNU long name or long link and per-file pax records
 * wait for the next member and are used up by it; global pax records hold for every member after them. All of it is
 * bounded by {@linkcode MAX_EXTENSION_SIZE}, so a hostile layer cannot make us buffer without limit.
 *
 * @module
 */
import { fieldEnd } from "./_header_fields.ts";
import { parsePaxRecords } from "./_pax_records.ts";

/**
 * Largest pax or GNU long-name body we accept, and the most extension data that may pile up for one member or in the
 * global pax state. A real path or xattr set is far smaller.
 */
export const MAX_EXTENSION_SIZE = 1024 * 1024;

// Type flags of extension headers.
const T_PAX = 0x78; // 'x'
const T_PAX_GLOBAL = 0x67; // 'g'
const T_LONG_NAME = 0x4c; // 'L'
const T_LONG_LINK = 0x4b; // 'K'

/** Whether `typeflag` is an extension header rather than a member. */
export function isExtension(typeflag: number): boolean {
  return typeflag === T_PAX || typeflag === T_PAX_GLOBAL || typeflag === T_LONG_NAME || typeflag === T_LONG_LINK;
}

/** Whether `typeflag` is a global pax header, which describes no member. */
export function isGlobal(typeflag: number): boolean {
  return typeflag === T_PAX_GLOBAL;
}

/** Builds the error for a malformed or oversized extension: the reason, and the error behind it. */
export type ExtensionError = (reason: string, cause?: unknown) => Error;

/** The extension state waiting for members. */
export class PendingExtensions {
  /** A GNU long name for the next member. */
  longName: Uint8Array | undefined;
  /** A GNU long link target for the next member. */
  longLink: Uint8Array | undefined;
  #paxLocal: Map<string, Uint8Array> | undefined;
  #pendingBytes = 0;
  #paxGlobal: Map<string, Uint8Array> | undefined;
  #globalBytes = 0;

  /** Count an extension body of `size` bytes against the limits before it is collected; false when it is over. */
  admit(typeflag: number, size: number): boolean {
    if (!isGlobal(typeflag)) this.#pendingBytes += size;
    return size <= MAX_EXTENSION_SIZE && this.#pendingBytes <= MAX_EXTENSION_SIZE;
  }

  /** Take in the complete body `b[start, end)` of an extension header of `typeflag`. */
  add(typeflag: number, b: Uint8Array, start: number, end: number, error: ExtensionError): void {
    switch (typeflag) {
      case T_LONG_NAME:
        this.longName = b.slice(start, fieldEnd(b, start, end - start));
        return;
      case T_LONG_LINK:
        this.longLink = b.slice(start, fieldEnd(b, start, end - start));
        return;
      case T_PAX:
        this.#paxLocal ??= new Map();
        parsePax(b, start, end, this.#paxLocal, error);
        return;
      case T_PAX_GLOBAL:
        this.#addGlobal(b, start, end, error);
        return;
    }
  }

  #addGlobal(b: Uint8Array, start: number, end: number, error: ExtensionError): void {
    const records = new Map<string, Uint8Array>();
    parsePax(b, start, end, records, error);
    const global = this.#paxGlobal ?? new Map<string, Uint8Array>();
    for (const [key, value] of records) {
      const old = global.get(key);
      if (old) this.#globalBytes -= key.length + old.length;
      // An empty value removes the keyword (POSIX pax "keyword=").
      if (value.length === 0) {
        global.delete(key);
      } else {
        global.set(key, value);
        this.#globalBytes += key.length + value.length;
      }
    }
    if (this.#globalBytes > MAX_EXTENSION_SIZE) {
      throw error(`global pax headers hold more than ${MAX_EXTENSION_SIZE} bytes`);
    }
    this.#paxGlobal = global.size > 0 ? global : undefined;
  }

  /** The pax records for the next member: a local record overrides a global one. */
  records(): ReadonlyMap<string, Uint8Array> | undefined {
    const local = this.#paxLocal;
    if (this.#paxGlobal === undefined) return local;
    if (local === undefined) return this.#paxGlobal;
    const merged = new Map(this.#paxGlobal);
    for (const [key, value] of local) merged.set(key, value);
    return merged;
  }

  /** Forget what the member just read used up; global records stay. */
  useUp(): void {
    this.#paxLocal = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    this.#pendingBytes = 0;
  }
}

function parsePax(
  b: Uint8Array,
  start: number,
  end: number,
  into: Map<string, Uint8Array>,
  error: ExtensionError,
): void {
  try {
    parsePaxRecords(b, start, end, into);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw error(`malformed pax header: ${err.message}`, err);
  }
}
