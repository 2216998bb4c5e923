/**
 * Reading a blob on this thread, whatever its source: a local range through the fast synchronous path, any other blob
 * through its stream. Either way the chunks are handed on in slices with breaks for the event loop, so a signal
 * listener (Ctrl-C) can act during a long layer.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { letEventLoopRun } from "../event_loop_pause.ts";
import type { Blob } from "./blob.ts";
import { rangeChunks, readRange } from "./range_reader.ts";

/**
 * Chunks are handed on in slices between these sizes: one compressed slice can expand a thousandfold (zeros, empty
 * files) and the work it causes runs without a break, so slow slices shrink; fast ones grow, so that plain data pays
 * almost nothing for the checks.
 */
const MIN_SLICE = 16 << 10;
const MAX_SLICE = 256 << 10;
/** Let the event loop run once this many milliseconds have passed. */
const YIELD_MS = 20;

/** Options for {@linkcode readBlob}. */
export interface ReadBlobOptions {
  /** Cancels a stream's transfer; checks between chunks are the caller's (in `onChunk`). */
  signal?: AbortSignal | undefined;
}

/**
 * The chunks of a blob: a local range's views into a reused buffer (synchronous), or a stream's chunks. A chunk is
 * valid only until the next is asked for.
 */
async function* blobChunks(blob: Blob, options: ReadBlobOptions): AsyncGenerator<Uint8Array> {
  // A blob downloaded ahead into the cache lies on disk by now: the fast path too.
  const local = blob.local ?? await blob.whenLocal?.().catch(() => undefined);
  if (local) {
    yield* rangeChunks(local, blob.name);
    return;
  }
  const reader = (await blob.open({ signal: options.signal })).getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      yield next.value;
    }
    done = true;
  } finally {
    // Stopped early (an error, an interruption): end the transfer.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * Call `onChunk` with consecutive chunks of the blob's bytes; a chunk is valid only during the call. Lets the event loop
 * run every {@linkcode YIELD_MS} milliseconds: by time, not by bytes, since a megabyte of a compressed layer of small
 * files can take seconds to apply.
 */
export async function readBlob(
  blob: Blob,
  onChunk: (chunk: Uint8Array) => void,
  options: ReadBlobOptions = {},
): Promise<void> {
  let last = performance.now();
  let slice = MIN_SLICE * 4;
  for await (const chunk of blobChunks(blob, options)) {
    for (let at = 0; at < chunk.length;) {
      const end = Math.min(at + slice, chunk.length);
      const started = performance.now();
      onChunk(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end));
      at = end;
      const now = performance.now();
      // Keep one slice's work near a few milliseconds.
      if (now - started < 2) slice = Math.min(slice * 2, MAX_SLICE);
      else if (now - started > 10) slice = Math.max(slice / 2, MIN_SLICE);
      if (now - last >= YIELD_MS) {
        await letEventLoopRun();
        last = performance.now();
      }
    }
  }
}

/**
 * Read a whole (small) blob into memory; refuses blobs above `limit` bytes, by the size they declare or, for a stream
 * of unknown length, as they arrive.
 */
export async function readBlobBytes(blob: Blob, limit = 16 << 20): Promise<Uint8Array> {
  const declared = blob.local?.size ?? blob.size;
  const tooBig = (size: number) =>
    new Oci2LxcError(
      "image",
      `Cannot read ${blob.name}: it is ${size} bytes, more than the ${limit} allowed for a JSON document`,
    );
  if (declared !== undefined && declared > limit) throw tooBig(declared);
  const parts: Uint8Array[] = [];
  let total = 0;
  await readBlob(blob, (chunk) => {
    total += chunk.length;
    if (total > limit) throw tooBig(total);
    parts.push(chunk.slice());
  });
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The first `count` bytes of a blob (fewer when it is shorter), for sniffing its compression. A stream is opened for
 * them and cancelled.
 */
export async function readBlobHead(blob: Blob, count: number): Promise<Uint8Array> {
  if (blob.local) {
    let head = new Uint8Array();
    readRange({ ...blob.local, size: Math.min(count, blob.local.size) }, (chunk) => head = chunk.slice(), blob.name);
    return head;
  }
  const head = new Uint8Array(count);
  let at = 0;
  const stop = {};
  try {
    await readBlob(blob, (chunk) => {
      const n = Math.min(chunk.length, count - at);
      head.set(chunk.subarray(0, n), at);
      at += n;
      if (at === count) throw stop;
    });
  } catch (err) {
    if (err !== stop) throw err;
  }
  return head.subarray(0, at);
}
