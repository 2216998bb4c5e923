/**
 * The contract every layer decompressor follows. Decompressors are synchronous and push-based, so one layer flows
 * through hashing, decompression, tar parsing and file writes in a single pass with reused buffers and no promise per
 * chunk.
 *
 * @module
 */

/** Receives decompressed bytes; the chunk is valid only during the call. */
export type OutputSink = (chunk: Uint8Array) => void;

/** A streaming decompressor for one layer blob. */
export interface Decompressor {
  /** Feed compressed bytes; decompressed output goes to the sink before this returns. */
  push(input: Uint8Array): void;
  /** End of input: throws if the stream was truncated; releases native memory. */
  finish(): void;
  /** Release native memory without checking completeness (after a failure). */
  close(): void;
}

/** The compressions a layer media type can name. */
export type Compression = "gzip" | "zstd" | "none";
