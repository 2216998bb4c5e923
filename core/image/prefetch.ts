/**
 * Prefetching the next layer of a stream-only source (a registry): once no more than `limit` bytes of a layer are left
 * to read (at once for a small layer), the next one is requested and its first bytes are read into a bounded buffer, so
 * the request's round trips and the start of the transfer overlap with the end of the current layer. Memory stays
 * flat: at most `limit` bytes are buffered (the rest waits in the socket, held back by TCP's flow control), and only
 * one layer ahead. Starting near the end rather than at the start keeps the prefetched connection from idling for the
 * whole of a large layer, which servers with a send timeout (nginx's 60 s) would cut. Nothing is fetched before the
 * first layer is opened, so `inspect` never downloads a layer.
 *
 * @module
 */
import type { Blob, BlobOpenOptions } from "./blob.ts";
import type { ImageLayer } from "./image.ts";

/** How much of the next layer is read ahead by default. */
export const PREFETCH_BYTES = 8 << 20;

/** What {@linkcode prefetchLayers} returns: the layers, and a way to drop what was fetched ahead and not used. */
export interface PrefetchedLayers {
  readonly layers: ImageLayer[];
  /** Cancel a transfer started ahead (the image is closed, or the conversion failed). */
  cancel(): void;
}

/**
 * Wrap the blobs of `layers` so that reading layer N to within `limit` bytes of its end starts layer N+1's transfer
 * into a buffer of `limit` bytes. Each prefetched stream is handed out once; a second `open()` of the same layer starts
 * a new transfer.
 */
export function prefetchLayers(layers: readonly ImageLayer[], limit = PREFETCH_BYTES): PrefetchedLayers {
  const ahead = new Map<number, Promise<ReadableStream<Uint8Array>>>();
  const start = (position: number) => {
    const next = layers[position];
    if (!next || ahead.has(position)) return;
    const buffered = next.blob.open().then((stream) =>
      // The writable side's strategy is the buffer: the pipe pulls from the socket until `limit` bytes wait.
      stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>(
          {},
          new ByteLengthQueuingStrategy({
            highWaterMark: limit,
          }),
        ),
      )
    );
    // A failure ahead (a 503, a refused token) is the error of that layer when it is opened, not before.
    buffered.catch(() => {});
    ahead.set(position, buffered);
  };
  const wrapped = layers.map((layer, position): ImageLayer => {
    const blob: Blob = {
      name: layer.blob.name,
      digest: layer.blob.digest,
      size: layer.blob.size,
      mediaType: layer.blob.mediaType,
      local: layer.blob.local,
      open: async (options?: BlobOpenOptions) => {
        const early = ahead.get(position);
        ahead.delete(position);
        const stream = await (early ?? layer.blob.open(options));
        // Unknown size: start the next one at the end of this one.
        const size = layer.blob.size ?? Infinity;
        let read = 0;
        const nearEnd = () => {
          if (size - read <= limit) start(position + 1);
        };
        nearEnd();
        return stream.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.length;
              nearEnd();
              controller.enqueue(chunk);
            },
            flush() {
              start(position + 1);
            },
          }),
        );
      },
    };
    return { ...layer, blob };
  });
  return {
    layers: wrapped,
    cancel() {
      for (const pending of ahead.values()) pending.then((stream) => stream.cancel()).catch(() => {});
      ahead.clear();
    },
  };
}
