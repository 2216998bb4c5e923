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
 * Protocol: the worker posts `{ type: "ready" }` when loaded; the main thread posts `{ shared, jobs }`; every layer
 * then ends in the ring with a KIND_END record (its measured digests, as JSON) or a KIND_ERROR record (an
 * {@linkcode ErrorRecord}), after which the worker stops. When it stops (all read, failed, or cancelled through the
 * ring) it posts `{ type: "ended" }`.
 *
 * @module
 */
import { readRange } from "../image/range_reader.ts";
import { ChunkRing, KIND_DATA, KIND_END, KIND_ERROR, RingCancelled } from "./chunk_ring.ts";
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
  onmessage: ((event: MessageEvent<{ shared: SharedArrayBuffer; jobs: LayerJob[] }>) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}

const encoder = new TextEncoder();

function run(ring: ChunkRing, jobs: readonly LayerJob[]): void {
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    let atFinish = false;
    try {
      const stream = new LayerStream({ ...job, sink: (chunk) => ring.put(KIND_DATA, chunk) });
      let read = 0;
      try {
        readRange(job.range!, (chunk) => {
          stream.push(chunk);
          read += chunk.length;
          ring.progress[i] = read;
        }, job.name);
      } catch (err) {
        stream.close();
        throw err;
      }
      atFinish = true;
      ring.put(KIND_END, encoder.encode(JSON.stringify(stream.finish())));
    } catch (err) {
      if (err instanceof RingCancelled) return;
      try {
        ring.put(KIND_ERROR, encodeErrorRecord(errorRecord(err, atFinish)));
      } catch {
        // cancelled while reporting: nobody is listening any more
      }
      return;
    }
  }
}

if (isLayerWorker()) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (event) => {
    const { shared, jobs } = event.data;
    run(new ChunkRing(shared, jobs.length), jobs);
    // Every decompressor is closed by now: the main thread may terminate us without leaking one.
    scope.postMessage({ type: "ended" });
    scope.close();
  };
  scope.postMessage({ type: "ready" });
}
