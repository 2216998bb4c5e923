/**
 * The main thread's side of the layer worker (layer_worker.ts): start it, take each layer's tar bytes from the shared
 * ring, and turn its reports back into results and errors, with the same rules as `readLayer` (a digest mismatch wins
 * over a write error; an interruption stops at once).
 *
 * A worker that cannot start (a bundle whose entry point does not allow it, a runtime without workers) is not an error:
 * {@linkcode LayerWorker.start} returns undefined and the caller reads the layers on its own thread.
 *
 * @module
 */
import { letEventLoopRun } from "../event_loop_pause.ts";
import type { Blob } from "../image/blob.ts";
import { BlobFeed } from "./blob_feed.ts";
import { ChunkRing, KIND_DATA, KIND_END } from "./chunk_ring.ts";
import type { OutputSink } from "./decompressor.ts";
import { errorFromRecord, type ErrorRecord, type LayerJob } from "./layer_job.ts";
import type { LayerStreamResult } from "./layer_stream.ts";
import { LAYER_WORKER_NAME } from "./layer_worker.ts";
import { isInterruption } from "../errors.ts";

/**
 * Whether this module runs from its own file (source or `deno compile`, whose binary holds layer_worker.ts too). In a
 * one-file bundle it does not, and there is no layer_worker.ts to load beside the bundle.
 */
const OWN_FILE = import.meta.url.endsWith("/layer/layer_worker_client.ts");
/** Set by {@linkcode allowBundleAsLayerWorker}. */
let bundleIsWorker = false;

/**
 * Declare that this program's one-file bundle may be loaded as the layer worker's script: its entry point imports
 * layer_worker.ts and does nothing else when layer_worker.ts's `isLayerWorker()` is true. main.ts does; a custom main
 * that does not call this reads layers on its own thread when bundled.
 */
export function allowBundleAsLayerWorker(): void {
  bundleIsWorker = true;
}
/** How long a starting worker may take to load before we read on this thread. */
const READY_MS = 10_000;
/** How long a cancelled worker may take to close its decompressor before it is terminated. */
const END_MS = 1_000;
/** Let the event loop run at least this often while taking records. */
const YIELD_MS = 20;
const decoder = new TextDecoder();

/** Options of {@linkcode LayerWorker.read}. */
export interface LayerWorkerReadOptions {
  /** Called with compressed bytes read since the last call: progress. */
  onRead?: ((bytes: number) => void) | undefined;
  /** Called between waits and records; throw from it to stop (an interruption). */
  check?: (() => void) | undefined;
}

/** A running layer worker; read its layers in order, then {@linkcode close} it (await it). */
export class LayerWorker {
  readonly #worker: Worker;
  readonly #ring: ChunkRing;
  /** Reads the layers whose blobs are only streams and feeds them to the worker; undefined when all are local. */
  #feed: BlobFeed | undefined;
  #failure: Error | undefined;
  #next = 0;
  /** Resolved when the worker says it ended, or fails. */
  readonly #ended = Promise.withResolvers<"ended" | "failed">();
  #closing: Promise<"ended" | "failed" | "terminated"> | undefined;

  private constructor(worker: Worker, ring: ChunkRing) {
    this.#worker = worker;
    this.#ring = ring;
  }

  /**
   * Start a worker that reads `jobs` in order, or undefined when no worker can be started here (then read on this
   * thread) or `signal` aborts while it loads. A job without a local range needs its blob in `blobs` (same index):
   * this thread reads that blob's stream and feeds it to the worker; `signal` cancels those transfers.
   */
  static async start(
    jobs: readonly LayerJob[],
    signal?: AbortSignal,
    blobs: ReadonlyArray<Blob> = [],
  ): Promise<LayerWorker | undefined> {
    const streamed = jobs.map((job, i) => job.range === undefined ? blobs[i] : undefined);
    if (jobs.some((job, i) => job.range === undefined && streamed[i] === undefined)) {
      throw new TypeError("Cannot start the layer worker: a job without a local range needs its blob");
    }
    // From source or the binary, the worker's own module; in a bundle, the bundle itself.
    const script = OWN_FILE
      ? new URL("./layer_worker.ts", import.meta.url).href
      : bundleIsWorker
      ? import.meta.url
      : "";
    if (script === "" || signal?.aborted) return undefined;
    let worker: Worker;
    try {
      worker = new Worker(script, { type: "module", name: LAYER_WORKER_NAME });
    } catch {
      return undefined;
    }
    let onAbort: (() => void) | undefined;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), READY_MS);
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      onAbort = () => settle(false);
      signal?.addEventListener("abort", onAbort);
      worker.onmessage = (event) => settle(event.data?.type === "ready");
      worker.onerror = (event) => {
        // Handled here: unhandled, a worker's error would end the whole program.
        event.preventDefault();
        settle(false);
      };
    });
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    if (!ready) {
      worker.terminate();
      return undefined;
    }
    const shared = ChunkRing.create(jobs.length);
    const client = new LayerWorker(worker, new ChunkRing(shared, jobs.length));
    worker.onmessage = (event) => {
      if (event.data?.type === "consumed") client.#feed?.consumed(event.data.bytes);
      else if (event.data?.type === "ended") client.#ended.resolve("ended");
    };
    worker.onerror = (event) => {
      event.preventDefault();
      client.#failure = new Error(`Cannot read the layers: the layer worker failed: ${event.message}`);
      client.#ended.resolve("failed");
    };
    try {
      worker.postMessage({ shared, jobs });
    } catch {
      worker.terminate();
      return undefined;
    }
    if (streamed.some((blob) => blob !== undefined)) {
      client.#feed = new BlobFeed(streamed, (message, transfer) => worker.postMessage(message, transfer ?? []), signal);
    }
    return client;
  }

  /**
   * Hand the next layer's tar bytes to `sink` and return what the worker measured. Layers come in the order of the jobs
   * given to `start`.
   *
   * @throws {DigestMismatchError} on a digest, size or diff_id mismatch (even after a sink error)
   * @throws the sink's error, or the worker's read or decompression error
   */
  async read(sink: OutputSink, options: LayerWorkerReadOptions = {}): Promise<LayerStreamResult> {
    const index = this.#next++;
    const ring = this.#ring;
    const { onRead, check } = options;
    const alive = () => {
      check?.();
      if (this.#failure) throw this.#failure;
    };
    let last = performance.now();
    let reported = 0;
    let sinkError: unknown;
    for (;;) {
      const taken = ring.take(alive);
      const { kind, view } = taken instanceof Promise ? await taken : taken;
      if (kind === KIND_DATA) {
        if (sinkError === undefined) {
          try {
            sink(view);
          } catch (err) {
            if (isInterruption(err)) throw err;
            sinkError = err;
          }
        }
        ring.release();
        if (onRead) {
          const read = ring.progress[index]!;
          if (read > reported) onRead(read - reported);
          reported = read;
        }
        if (performance.now() - last >= YIELD_MS) {
          await letEventLoopRun();
          // After the pause: that is when a signal listener can have run.
          alive();
          last = performance.now();
        }
        continue;
      }
      const payload: unknown = JSON.parse(decoder.decode(view));
      ring.release();
      if (kind === KIND_END) {
        if (sinkError !== undefined) throw sinkError;
        const result = payload as LayerStreamResult;
        if (onRead && result.size > reported) onRead(result.size - reported);
        return result;
      }
      const record = payload as ErrorRecord;
      // An abort that cancelled a stream's transfer is an interruption, not a read error.
      alive();
      // As in readLayer: a write error wins over what the end-of-layer checks found, unless that is a digest mismatch.
      if (sinkError !== undefined && record.atFinish && record.kind !== "digest") throw sinkError;
      throw errorFromRecord(record);
    }
  }

  /**
   * Stop the worker; safe to call more than once (later calls give the first outcome). The worker is asked to stop
   * first and given `graceMs` to close its decompressor (native memory, which terminating it mid-layer would leak).
   *
   * @returns "ended" when the worker stopped by itself, "failed" when it died of an error, "terminated" when it had to be killed
   */
  close(graceMs = END_MS): Promise<"ended" | "failed" | "terminated"> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<"ended" | "failed" | "terminated"> {
    this.#feed?.stop();
    this.#ring.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      this.#ended.promise,
      new Promise<"terminated">((resolve) => timer = setTimeout(() => resolve("terminated"), graceMs)),
    ]);
    clearTimeout(timer);
    this.#worker.terminate();
    return outcome;
  }
}
