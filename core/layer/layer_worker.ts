/// <reference lib="deno.worker" />
/**
 * The layer worker: reads, hashes and decompresses every layer in order
 * and puts the tar bytes into a {@linkcode ChunkRing}, running ahead of the
 * main thread (which parses and writes) by at most the ring's size, across
 * layer boundaries. So decompression and hashing of one part overlap the
 * file writes of the part before, on the second core.
 *
 * Protocol: the worker posts `{ type: "ready" }` when loaded; the main
 * thread posts `{ shared, jobs }`; every layer then ends in the ring with a
 * KIND_END record (its measured digests, as JSON) or a KIND_ERROR record
 * (an {@linkcode ErrorRecord}), after which the worker stops.
 *
 * @module
 */
import { readMember } from "../image/range_reader.ts";
import { ChunkRing, KIND_DATA, KIND_END, KIND_ERROR, RingCancelled } from "./chunk_ring.ts";
import { errorRecord, type LayerJob } from "./layer_job.ts";
import { LayerStream } from "./layer_stream.ts";

const encoder = new TextEncoder();

function run(ring: ChunkRing, jobs: readonly LayerJob[]): void {
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    let atFinish = false;
    try {
      const stream = new LayerStream({ ...job, sink: (chunk) => ring.put(KIND_DATA, chunk) });
      let read = 0;
      try {
        readMember(job.member, (chunk) => {
          stream.push(chunk);
          read += chunk.length;
          ring.progress[i] = read;
        });
      } catch (err) {
        stream.close();
        throw err;
      }
      atFinish = true;
      ring.put(KIND_END, encoder.encode(JSON.stringify(stream.finish())));
    } catch (err) {
      if (err instanceof RingCancelled) return;
      try {
        ring.put(KIND_ERROR, encoder.encode(JSON.stringify(errorRecord(err, atFinish))));
      } catch {
        // cancelled while reporting: nobody is listening any more
      }
      return;
    }
  }
}

self.onmessage = (event: MessageEvent<{ shared: SharedArrayBuffer; jobs: LayerJob[] }>) => {
  const { shared, jobs } = event.data;
  run(new ChunkRing(shared, jobs.length), jobs);
  self.close();
};
self.postMessage({ type: "ready" });
