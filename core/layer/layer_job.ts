/**
 * What it takes to read, verify and decompress one layer, as plain data: the same for the main thread and for the layer
 * worker, which receives it by structured clone. Errors cross back as plain data too and become the same error classes
 * again, so a conversion fails with the same message, code and hint on either path.
 *
 * @module
 */
import { DigestMismatchError, type ErrorCode, Oci2LxcError } from "../errors.ts";
import type { LocalRange } from "../image/blob.ts";
import type { Compression } from "./decompressor.ts";

/** One layer to read. */
export interface LayerJob {
  /** "layer 2/5 (sha256:ab12cd34ef56)" for messages. */
  name: string;
  /**
   * Where the blob lies on local disk: the worker reads it itself. Undefined for a blob that is only a stream: the main
   * thread reads it and hands its bytes to the worker (see layer_worker.ts).
   */
  range: LocalRange | undefined;
  compression: Compression;
  expectedDigest: string;
  expectedSize: number | undefined;
  /** undefined when only learning the diff_id. */
  expectedDiffId: string | undefined;
  /**
   * The reader of the tar bytes hashes them for the diff_id, not the one that decompresses (LayerStream's
   * `diffIdElsewhere`): set by the layer worker's client, so its main thread takes that share of the work.
   */
  diffIdElsewhere?: boolean | undefined;
}

/** An error as plain data. */
export interface ErrorRecord {
  kind: "digest" | "oci2lxc" | "error";
  message: string;
  code?: ErrorCode;
  hint?: string | undefined;
  what?: string;
  expected?: string;
  actual?: string;
  /** The cause's message, kept for `--debug`. */
  cause?: string;
  /** True when the error came from the end-of-layer checks (not while data flowed). */
  atFinish: boolean;
}

/** `err` as plain data. */
export function errorRecord(err: unknown, atFinish: boolean): ErrorRecord {
  const cause = err instanceof Error && err.cause !== undefined
    ? (err.cause instanceof Error ? err.cause.message : String(err.cause))
    : undefined;
  const base = { message: err instanceof Error ? err.message : String(err), atFinish, ...(cause ? { cause } : {}) };
  if (err instanceof DigestMismatchError) {
    return { ...base, kind: "digest", what: err.what, expected: err.expected, actual: err.actual, hint: err.hint };
  }
  if (err instanceof Oci2LxcError) return { ...base, kind: "oci2lxc", code: err.code, hint: err.hint };
  return { ...base, kind: "error" };
}

/**
 * The longest message, cause or hint a record carries: a record must fit in one 256 KiB slot of the ring, and JSON may
 * spend 6 bytes on a character.
 */
export const RECORD_TEXT_MAX = 8 << 10;

function capped(text: string): string {
  return text.length <= RECORD_TEXT_MAX
    ? text
    : `${text.slice(0, RECORD_TEXT_MAX)} … (${text.length - RECORD_TEXT_MAX} more characters)`;
}

/** `record` as the bytes of one ring record: JSON, its texts cut to {@linkcode RECORD_TEXT_MAX}. */
export function encodeErrorRecord(record: ErrorRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    ...record,
    message: capped(record.message),
    ...(record.cause !== undefined ? { cause: capped(record.cause) } : {}),
    ...(record.hint !== undefined ? { hint: capped(record.hint) } : {}),
  }));
}

/** The error a record describes. */
export function errorFromRecord(record: ErrorRecord): Error {
  if (record.kind === "digest") {
    return new DigestMismatchError(record.what!, record.expected!, record.actual!, record.message, record.hint);
  }
  const cause = record.cause === undefined ? undefined : new Error(record.cause);
  if (record.kind === "oci2lxc") {
    return new Oci2LxcError(record.code!, record.message, {
      ...(cause ? { cause } : {}),
      ...(record.hint !== undefined ? { hint: record.hint } : {}),
    });
  }
  return new Error(record.message, cause ? { cause } : undefined);
}
