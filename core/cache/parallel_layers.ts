/**
 * Parallel layer downloads into the blob cache (`--max-parallel N`): while the writer applies layer K from its own
 * stream (teed into the cache by cachingSource), up to N-1 of the following layers download at once in the background,
 * each streamed straight into its cache file and verified there. The cache file is the spill: what the writer is not
 * ready for waits on disk, never in memory, so memory stays flat whatever the layer sizes. When the writer reaches a
 * layer that downloaded (or is still downloading) in the background, it waits for that download, then reads the
 * cache file: through `whenLocal()` as a local range (the fast path: the layer worker reads the file itself), or
 * through `open()` as a stream. A background download that failed on the registry's side (code `registry`: its retry
 * budget spent, or an answer no retry changes, such as 404) is that layer's error when the writer reaches it, not
 * tried again: a second try would spend the whole budget once more (an endless 503 took twice the time, and said
 * "tried 5 times" after ten). Any other failure (a damaged transfer) is tried again by the writer's own open. Nothing
 * starts before the first layer is opened or asked for, so `inspect` downloads no layer.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { Blob, BlobOpenOptions, GrowingFile } from "../image/blob.ts";
import type { ImageLayer } from "../image/image.ts";
import type { PrefetchedLayers } from "../image/prefetch.ts";

/**
 * Wrap `layers` (blobs of a cachingSource) so that opening layer K starts background downloads of the next layers,
 * at most `maxParallel - 1` at a time (the writer's own stream is the N-th).
 */
export function parallelLayers(
  layers: readonly ImageLayer[],
  maxParallel: number,
  onDownload?: (position: number, bytes: number) => void,
): PrefetchedLayers {
  const abort = new AbortController();
  const background = new Map<number, Promise<void>>();
  /** Each background download's file as it grows (see Blob.download), by position. */
  const spills = new Map<number, Spill>();
  /** Background downloads that failed on the registry's side: the writer gets that error instead of a second try. */
  const refused = new Map<number, Oci2LxcError>();
  let running = 0;
  let next = 0;
  /** Download `position` in the background; `ahead` ones count against `maxParallel - 1`, the writer's own does not. */
  const start = (position: number, ahead: boolean) => {
    const blob = layers[position]!.blob;
    if (ahead) running++;
    const spill = new Spill(blob.size);
    spills.set(position, spill);
    const done = drain(blob, abort.signal, spill, (bytes) => onDownload?.(position, bytes)).finally(() => {
      if (ahead) running--;
      pump();
    });
    spill.follow(done);
    done.catch((err) => {
      if (err instanceof Oci2LxcError && err.code === "registry") refused.set(position, err);
    });
    background.set(position, done);
  };
  const pump = () => {
    while (running < maxParallel - 1 && next < layers.length && !abort.signal.aborted) {
      const position = next++;
      // A cached layer is read from its file: nothing to download.
      if (layers[position]!.blob.local || background.has(position)) continue;
      start(position, true);
    }
  };
  /** The writer is at `position`: the background takes the layers after it; resolves when `position`'s ended. */
  const reach = async (position: number) => {
    next = Math.max(next, position + 1);
    pump();
    // Cached by now, or failed: then the writer's own open downloads it again, unless the registry refused it.
    await background.get(position)?.catch(() => {});
    const err = refused.get(position);
    if (err) throw err;
  };
  const wrapped = layers.map((layer, position): ImageLayer => {
    const blob: Blob = {
      ...layer.blob,
      open: async (options?: BlobOpenOptions) => {
        await reach(position);
        return await layer.blob.open(options);
      },
      whenLocal: async () => {
        // Only a layer the background took can be on disk by now; the writer's own layer it streams.
        if (!background.has(position)) {
          next = Math.max(next, position + 1);
          pump();
          return undefined;
        }
        await reach(position);
        return await layer.blob.whenLocal?.();
      },
      download: async (options?: BlobOpenOptions) => {
        // The reader's signal (an interrupt) stops every download at once, so their partial files go in its turn.
        const signal = options?.signal;
        if (signal?.aborted) abort.abort(signal.reason);
        else signal?.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
        if (layer.blob.local || layer.blob.size === undefined || abort.signal.aborted) return undefined;
        // The writer's own download, if not under way already; the ones after it in the background.
        if (!background.has(position)) start(position, false);
        next = Math.max(next, position + 1);
        pump();
        return await spills.get(position)!.file;
      },
    };
    return { ...layer, blob };
  });
  return {
    layers: wrapped,
    cancel() {
      abort.abort();
    },
  };
}

/** One background download's file as it grows: known once the cache has opened it, and the bytes written so far. */
class Spill {
  readonly #size: number | undefined;
  #path: string | undefined;
  #written = 0;
  readonly #listeners = new Set<() => void>();
  readonly #file = Promise.withResolvers<GrowingFile | undefined>();
  #done: Promise<void> = Promise.resolve();

  constructor(size: number | undefined) {
    this.#size = size;
  }

  /** The growing file, once known; undefined when the download ended without one (another run had cached it). */
  get file(): Promise<GrowingFile | undefined> {
    return this.#file.promise;
  }

  /** The download's outcome: ends the wait for a file that never came, and tells the watchers. */
  follow(done: Promise<void>): void {
    this.#done = done;
    const end = () => {
      this.#file.resolve(undefined);
      for (const listener of this.#listeners) listener();
    };
    done.then(end, end);
  }

  /** The cache opened its download file at `path`. */
  spilled(path: string, hint: string | undefined): void {
    if (this.#path !== undefined || this.#size === undefined) return;
    this.#path = path;
    const size = this.#size;
    this.#file.resolve({
      file: path,
      size,
      hint,
      written: () => this.#written,
      watch: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
      done: this.#done,
    });
  }

  /** `bytes` are in the file now. */
  wrote(bytes: number): void {
    this.#written = bytes;
    for (const listener of this.#listeners) listener();
  }
}

/** Read a blob's stream to its end, so cachingSource stores it; stopped by `signal`. */
async function drain(
  blob: Blob,
  signal: AbortSignal,
  spill: Spill,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const stream = await blob.open({ signal, onSpill: (path, hint) => spill.spilled(path, hint) });
  const reader = stream.getReader();
  const stop = () => reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", stop, { once: true });
  try {
    // Ends with the stream: a blob has a finite size, and a stalled body times out in the client.
    let bytes = 0;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done || signal.aborted) return;
      bytes += chunk.value.length;
      // cachingSource wrote the chunk to the file before handing it on.
      spill.wrote(bytes);
      onBytes(bytes);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}
