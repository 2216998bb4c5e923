/**
 * The layer worker: reads, hashes and decompresses every layer in order and puts the tar bytes into a
 * {@linkcode ChunkRing}, running ahead of the main thread (which parses and writes) by at most the ring's size, across
 * layer boundaries. So decompression and hashing of one part overlap the file writes of the part before, on the second
 * core.
 *
 * This module does nothing unless it runs in a worker named {@linkcode LAYER_WORKER_NAME}, so main.ts can import it:
 * that puts its code into the one-file bundle and the binary, and the bundle can then be the worker's own script (see
 * layer_worker_client.ts).
 *
 * A layer whose blob is a local file range the worker reads itself (synchronously, the fast path); a layer whose blob is
 * only a stream the main thread reads and feeds to the worker (blob_feed.ts says why), unless it came to lie in a file
 * by the time the feed reached it (downloaded ahead into the blob cache): then the feed says where, and the worker
 * reads that file itself too.
 *
 * Protocol: the worker posts `{ type: "ready" }` when loaded; the main thread posts `{ shared, jobs }`, then the feed's
 * messages for the stream layers; every layer then ends in the ring with a KIND_END record (its measured digests, as
 * JSON) or a KIND_ERROR record (an {@linkcode ErrorRecord}), after which the worker stops. When it stops (all read,
 * failed, or cancelled through the ring or the feed) it posts `{ type: "ended" }`.
 *
 * @module
 */
import { DigestMismatchError } from "../errors.ts";
import { readRange } from "../image/range_reader.ts";
import { FeedCancelled, FeedInbox, type FeedMessage } from "./blob_feed.ts";
import { ChunkRing, KIND_DATA, KIND_END, KIND_ERROR, RingCancelled } from "./chunk_ring.ts";
import { DownloadBoard } from "./download_board.ts";
import { encodeErrorRecord, errorRecord, type LayerJob } from "./layer_job.ts";
import { LayerStream } from "./layer_stream.ts";

/** The name the layer worker is started with. */
export const LAYER_WORKER_NAME = "oci2lxc-layers";

/** True in the layer worker's own thread. */
export function isLayerWorker(): boolean {
  return (globalThis as { name?: unknown }).name === LAYER_WORKER_NAME && "WorkerGlobalScope" in globalThis;
}

/** The parts of a worker's global scope used here. */
interface WorkerScope {
  onmessage:
    | ((
      event: MessageEvent<{ shared: SharedArrayBuffer; board: SharedArrayBuffer; jobs: LayerJob[] } | FeedMessage>,
    ) => void)
    | null;
  postMessage(message: unknown): void;
  close(): void;
}

const encoder = new TextEncoder();

async function run(
  ring: ChunkRing,
  board: DownloadBoard,
  jobs: readonly LayerJob[],
  inbox: FeedInbox,
  scope: WorkerScope,
): Promise<void> {
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    let atFinish = false;
    // The file the layer is read from, if any: its hint says what to do when that file was damaged meanwhile.
    let range = job.range;
    try {
      const stream = new LayerStream({ ...job, sink: (chunk) => ring.put(KIND_DATA, chunk) });
      let read = 0;
      try {
        if (job.range) {
          readRange(job.range, (chunk) => {
            stream.push(chunk);
            read += chunk.length;
            ring.progress[i] = read;
          }, job.name);
        } else {
          for (let chunk = await inbox.next(i); chunk !== null; chunk = await inbox.next(i)) {
            if (!(chunk instanceof Uint8Array)) {
              // The whole layer lies in a file after all: downloaded ahead (read it as a local range), or downloading
              // into it (follow it as it grows).
              range = chunk.range;
              const push = (part: Uint8Array) => {
                stream.push(part);
                read += part.length;
                ring.progress[i] = read;
              };
              if (chunk.growing) board.follow(i, chunk.range, job.name, push, () => ring.throwIfCancelled());
              else readRange(chunk.range, push, job.name);
              break;
            }
            stream.push(chunk);
            read += chunk.length;
            ring.progress[i] = read;
            scope.postMessage({ type: "consumed", layer: i, bytes: chunk.length });
          }
        }
      } catch (err) {
        stream.close();
        throw err;
      }
      atFinish = true;
      ring.put(KIND_END, encoder.encode(JSON.stringify(stream.finish())));
    } catch (err) {
      if (err instanceof RingCancelled || err instanceof FeedCancelled) return;
      // A cached file that no longer matches was changed after the lookup that vouched for it, not damaged at its source.
      const wrong = err instanceof DigestMismatchError && range?.hint
        ? new DigestMismatchError(err.what, err.expected, err.actual, err.message, range.hint)
        : err;
      try {
        ring.put(KIND_ERROR, encodeErrorRecord(errorRecord(wrong, atFinish)));
      } catch {
        // cancelled while reporting: nobody is listening any more
      }
      return;
    }
  }
}

if (isLayerWorker()) {
  const scope = globalThis as unknown as WorkerScope;
  const inbox = new FeedInbox();
  scope.onmessage = async (event) => {
    const data = event.data;
    if ("type" in data) {
      inbox.deliver(data);
      return;
    }
    const { shared, board, jobs } = data;
    await run(new ChunkRing(shared, jobs.length), new DownloadBoard(board, jobs.length), jobs, inbox, scope);
    // Every decompressor is closed by now: the main thread may terminate us without leaking one.
    scope.postMessage({ type: "ended" });
    scope.close();
  };
  scope.postMessage({ type: "ready" });
}
