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
import type { Blob, BlobOpenOptions } from "../image/blob.ts";
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
  /** Background downloads that failed on the registry's side: the writer gets that error instead of a second try. */
  const refused = new Map<number, Oci2LxcError>();
  let running = 0;
  let next = 0;
  const pump = () => {
    while (running < maxParallel - 1 && next < layers.length && !abort.signal.aborted) {
      const position = next++;
      const blob = layers[position]!.blob;
      // A cached layer is read from its file: nothing to download.
      if (blob.local || background.has(position)) continue;
      running++;
      const done = drain(blob, abort.signal, (bytes) => onDownload?.(position, bytes)).finally(() => {
        running--;
        pump();
      });
      done.catch((err) => {
        if (err instanceof Oci2LxcError && err.code === "registry") refused.set(position, err);
      });
      background.set(position, done);
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

/** Read a blob's stream to its end, so cachingSource stores it; stopped by `signal`. */
async function drain(blob: Blob, signal: AbortSignal, onBytes: (bytes: number) => void): Promise<void> {
  const stream = await blob.open({ signal });
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
      onBytes(bytes);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}
