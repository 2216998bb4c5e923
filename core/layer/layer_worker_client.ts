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
import type { FeedMessage } from "./blob_feed.ts";
import { HeldFiles } from "./held_files.ts";
import { createDownloadBoard, DownloadBoard } from "./download_board.ts";
import type { OutputSink } from "./decompressor.ts";
import { errorFromRecord, type ErrorRecord, type LayerJob } from "./layer_job.ts";
import { DiffIdCheck, type LayerStreamResult } from "./layer_stream.ts";
import { parseDigest } from "../digest.ts";
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
  readonly #jobs: readonly LayerJob[];
  /** Reads the layers whose blobs are only streams and feeds them to the worker; undefined when all are local. */
  #feed: BlobFeed | undefined;
  /** The files the worker is to read, held open until it has (held_files.ts). */
  readonly #held = new HeldFiles();
  #failure: Error | undefined;
  #next = 0;
  /** Resolved when the worker says it ended, or fails. */
  readonly #ended = Promise.withResolvers<"ended" | "failed">();
  #closing: Promise<"ended" | "failed" | "terminated"> | undefined;

  private constructor(worker: Worker, ring: ChunkRing, jobs: readonly LayerJob[]) {
    this.#worker = worker;
    this.#ring = ring;
    this.#jobs = jobs;
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
    // This thread hashes the tar bytes for the diff_id as it takes them (it waits on the worker's decompression
    // otherwise): the worker keeps the blob's digest. An uncompressed blob's one hash serves both, in the worker.
    const planned = jobs.map((job): LayerJob => ({ ...job, diffIdElsewhere: job.compression !== "none" }));
    const shared = ChunkRing.create(jobs.length);
    const board = createDownloadBoard(jobs.length);
    const client = new LayerWorker(worker, new ChunkRing(shared, jobs.length), planned);
    const ready = Promise.withResolvers<boolean>();
    let loaded = false;
    worker.onmessage = (event) => {
      const type = event.data?.type;
      if (type === "ready") ready.resolve(true);
      else if (type === "consumed") client.#feed?.consumed(event.data.bytes);
      else if (type === "ended") client.#ended.resolve("ended");
    };
    worker.onerror = (event) => {
      // Handled here: unhandled, a worker's error would end the whole program.
      event.preventDefault();
      if (!loaded) return ready.resolve(false);
      client.#failure = new Error(`Cannot read the layers: the layer worker failed: ${event.message}`);
      client.#ended.resolve("failed");
    };
    // The feed starts now, not once the worker has loaded (some tens of milliseconds): the first layer's transfer, and
    // with a blob cache the downloads ahead, overlap the load. Its messages wait here until the jobs are posted; the
    // feed's window bounds them.
    const early: Array<[FeedMessage, Transferable[] | undefined]> = [];
    const post = (message: FeedMessage, transfer?: Transferable[]) => {
      if (loaded) worker.postMessage(message, transfer ?? []);
      else early.push([message, transfer]);
    };
    if (streamed.some((blob) => blob !== undefined)) {
      client.#feed = new BlobFeed(streamed, post, signal, client.#held, new DownloadBoard(board, jobs.length));
    }
    const timer = setTimeout(() => ready.resolve(false), READY_MS);
    const onAbort = () => ready.resolve(false);
    signal?.addEventListener("abort", onAbort);
    const ok = await ready.promise;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    try {
      if (!ok) throw new Error("the layer worker did not start");
      // A file already gone keeps its path: the worker's open then fails with the range's hint, in its turn.
      const held = planned.map((job, i) =>
        job.range ? { ...job, range: client.#held.hold(i, job.range) ?? job.range } : job
      );
      worker.postMessage({ shared, board, jobs: held });
      for (const [message, transfer] of early) worker.postMessage(message, transfer ?? []);
      early.length = 0;
      loaded = true;
    } catch {
      client.#feed?.stop();
      worker.terminate();
      client.#held.releaseAll();
      return undefined;
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
    const diffId = this.#diffIdCheck(index);
    for (;;) {
      const taken = ring.take(alive);
      const { kind, view } = taken instanceof Promise ? await taken : taken;
      if (kind === KIND_DATA) {
        // Every byte, also after a sink error: a diff_id mismatch wins over it, as in readLayer.
        diffId?.update(view);
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
      // The worker is done with this layer's file, if it read one.
      this.#held.release(index);
      if (kind === KIND_END) {
        const result = payload as LayerStreamResult;
        if (diffId) result.diffId = diffId.finish();
        if (sinkError !== undefined) throw sinkError;
        if (onRead && result.size > reported) onRead(result.size - reported);
        return result;
      }
      const record = payload as ErrorRecord;
      // An abort that cancelled a stream's transfer is an interruption, not a read error.
      alive();
      // The worker followed the layer's download into a file, and the download failed: its error is the layer's.
      const download = this.#feed?.failure(index);
      if (download !== undefined) throw download;
      // As in readLayer: a write error wins over what the end-of-layer checks found, unless that is a digest mismatch.
      if (sinkError !== undefined && record.atFinish && record.kind !== "digest") throw sinkError;
      throw errorFromRecord(record);
    }
  }

  /** The diff_id check this thread makes for layer `index`, when the worker leaves it here. */
  #diffIdCheck(index: number): DiffIdCheck | undefined {
    const job = this.#jobs[index];
    if (!job?.diffIdElsewhere) return undefined;
    try {
      return new DiffIdCheck(job.name, job.expectedDiffId, parseDigest(job.expectedDigest, job.name).algorithm);
    } catch {
      // A malformed digest: the worker's LayerStream fails on it the same way, and says so in its turn.
      return undefined;
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
    // Only now: a worker still running could open a descriptor's number after it was closed and reused.
    this.#held.releaseAll();
    return outcome;
  }
}
