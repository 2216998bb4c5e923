/**
 * Reads a byte range of a file into one reused buffer and hands each chunk to a callback. `readSync` into a reused
 * buffer is ~20× faster here than a `ReadableStream`, and keeps the whole layer pass synchronous per chunk.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { letEventLoopRun } from "../event_loop_pause.ts";
import type { Member } from "./member.ts";

const CHUNK = 1 << 20;
/**
 * {@linkcode readMemberAsync} hands chunks on in slices between these sizes: one compressed slice can expand a
 * thousandfold (zeros, empty files) and the work it causes runs without a break, so slow slices shrink; fast ones grow,
 * so that plain data pays almost nothing for the checks.
 */
const MIN_SLICE = 16 << 10;
const MAX_SLICE = 256 << 10;
/** {@linkcode readMemberAsync} lets the event loop run once this many milliseconds have passed. */
const YIELD_MS = 20;
const buffers: Uint8Array[] = [];

/**
 * The chunks of `member`, each a view into one buffer that is reused for the next chunk: use a chunk before asking for
 * the next.
 */
function* memberChunks(member: Member): Generator<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(member.file, { read: true });
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot open ${member.file}: ${(cause as Error).message}`, { cause });
  }
  // A pool, not one shared buffer: a nested or concurrent read gets its own.
  const buffer = buffers.pop() ?? new Uint8Array(CHUNK);
  try {
    file.seekSync(member.offset, Deno.SeekMode.Start);
    let left = member.size;
    while (left > 0) {
      const want = Math.min(left, buffer.length);
      const n = file.readSync(want === buffer.length ? buffer : buffer.subarray(0, want));
      if (n === null || n === 0) {
        throw new Oci2LxcError(
          "image",
          `Cannot read ${member.name} from ${member.file}: the file ends ${left} bytes early (truncated archive?)`,
          { hint: "Save or download the image again" },
        );
      }
      left -= n;
      yield buffer.subarray(0, n);
    }
  } finally {
    file.close();
    buffers.push(buffer);
  }
}

/**
 * Call `onChunk` with consecutive chunks of `member`'s bytes. The chunk is a view into a reused buffer, valid only
 * during the call.
 */
export function readMember(member: Member, onChunk: (chunk: Uint8Array) => void): void {
  for (const chunk of memberChunks(member)) onChunk(chunk);
}

/**
 * Like {@linkcode readMember}, but lets the event loop run every {@linkcode YIELD_MS} milliseconds, so a signal
 * listener (Ctrl-C) can act during a long layer. Yielding by time, not by bytes: a megabyte of a compressed layer of
 * small files can take seconds to apply.
 */
export async function readMemberAsync(member: Member, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  let last = performance.now();
  let slice = MIN_SLICE * 4;
  for (const chunk of memberChunks(member)) {
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

/** Read a whole (small) member into memory; refuses members above `limit` bytes. */
export function readMemberBytes(member: Member, limit = 16 << 20): Uint8Array {
  if (member.size > limit) {
    throw new Oci2LxcError(
      "image",
      `Cannot read ${member.name}: it is ${member.size} bytes, more than the ${limit} allowed for a JSON document`,
    );
  }
  const out = new Uint8Array(member.size);
  let at = 0;
  readMember(member, (chunk) => {
    out.set(chunk, at);
    at += chunk.length;
  });
  return out;
}
