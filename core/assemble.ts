/**
 * Stage 4: apply each layer, in order, into the staging rootfs. One read and one decompression per layer; the blob
 * digest and diff_id are checked in the same pass that writes the files. For images worth it, a worker reads, hashes
 * and decompresses (on the second core) while this thread parses and writes.
 *
 * @module
 */
import { DigestMismatchError, throwIfInterrupted } from "./errors.ts";
import { blobLength } from "./image/blob.ts";
import type { Image, ImageLayer } from "./image/image.ts";
import { layerJob, layerName, readLayer } from "./layer/read_layer.ts";
import { LayerWorker } from "./layer/layer_worker_client.ts";
import type { LayerJob } from "./layer/layer_job.ts";
import type { IdMap } from "./rootfs/id_map.ts";
import { type RootfsWarning, RootfsWriter, type RootfsWriterStats } from "./rootfs/rootfs_writer.ts";
import { TarParser } from "./tar/tar_parser.ts";

/** Progress of the assembly, for the CLI's live line. */
export interface AssembleProgress {
  layer: number;
  layers: number;
  /** Compressed bytes of this layer read so far. */
  bytes: number;
  /** Compressed size of this layer. */
  total: number;
  /** Compressed bytes of all layers read so far. */
  allBytes: number;
  /** Compressed size of all layers. */
  allTotal: number;
}

/** Report progress at most this often, in milliseconds (and at each layer's end). */
const PROGRESS_MS = 100;
/**
 * Below this much compressed layer data, a worker's start (a second isolate loading the decompressors, some tens of
 * milliseconds) costs more than the overlap gains.
 */
export const WORKER_MIN_BYTES = 8 << 20;

/** Options for {@linkcode assembleRootfs}. */
export interface AssembleOptions {
  idmap?: IdMap | undefined;
  /** Not root: skip ownership and devices with warnings instead of failing. */
  approximate?: boolean;
  onWarning?: (message: string) => void;
  onProgress?: (progress: AssembleProgress) => void;
  /** Checked between chunks: an interrupt stops the work at the next chunk. */
  signal?: AbortSignal | undefined;
  /**
   * Read and decompress in a worker: `auto` (default) from {@linkcode WORKER_MIN_BYTES} of layers on, `always`, or
   * `never`. Where no worker can start, layers are read on this thread either way.
   */
  worker?: "auto" | "always" | "never";
}

/** What the assembly measured. */
export interface AssembleResult {
  layers: Array<{ index: number; digest: string; diffId: string; size: number; uncompressedSize: number }>;
  /** True when the archive listed layers in another order than the config's diff_ids. */
  reordered: boolean;
  /** What the writer did, over all layers. */
  stats: RootfsWriterStats;
  /** Bytes of file content written. */
  bytesWritten: number;
  /** True when a worker read and decompressed the layers (see {@linkcode AssembleOptions.worker}). */
  readInWorker: boolean;
}

/**
 * Apply `layers` into the directory `rootfs` (which must exist and be empty). When the first diff_id mismatch shows
 * that the archive lists its layers in a different order than `config.rootfs.diff_ids` (Proxmox's own test images do),
 * the layers are re-paired by content and the caller must start again on a fresh directory: `reorderLayers` then
 * returns the order.
 */
export async function assembleRootfs(
  layers: readonly ImageLayer[],
  rootfs: string,
  options: AssembleOptions = {},
): Promise<AssembleResult> {
  const writer = new RootfsWriter(rootfs, {
    ...(options.idmap ? { idmap: options.idmap } : {}),
    approximate: options.approximate ?? false,
    // A warning about an entry names its layer and the entry; one about the whole rootfs (no path) stands alone.
    onWarning: (w: RootfsWarning) =>
      options.onWarning?.(w.path === "" ? w.message : `${w.layer}: ${w.path}: ${w.message}`),
  });
  const result: AssembleResult = {
    layers: [],
    reordered: false,
    stats: writer.stats,
    bytesWritten: 0,
    readInWorker: false,
  };
  const allTotal = layers.reduce((n, l) => n + blobLength(l.blob), 0);
  let before = 0;
  const mode = options.worker ?? "auto";
  const useWorker = layers.length > 0 && (mode === "always" || (mode === "auto" && allTotal >= WORKER_MIN_BYTES));
  let worker: LayerWorker | undefined;
  try {
    // A layer that cannot even be described (no digest, unreadable) must fail in its turn, after the layers before it,
    // as on this thread: then read them all here.
    let jobs: LayerJob[] | undefined;
    try {
      jobs = useWorker ? await Promise.all(layers.map((l) => layerJob(l, layers.length, true))) : undefined;
    } catch {
      jobs = undefined;
    }
    if (jobs) worker = await LayerWorker.start(jobs, options.signal, layers.map((l) => l.blob));
    result.readInWorker = worker !== undefined;
    for (const layer of layers) {
      const name = layerName(layer, layers.length);
      const interrupted = () => throwIfInterrupted(options.signal, "finish the conversion", `in ${name}`);
      // Not even opened once interrupted (the worker may have stopped loading for it).
      interrupted();
      writer.beginLayer(name);
      // The parser names the layer in its warnings itself.
      const parser = new TarParser(writer, { name, onWarning: (m) => options.onWarning?.(m) });
      let bytes = 0;
      let reported = performance.now();
      const total = blobLength(layer.blob);
      const progress = options.onProgress;
      const report = () =>
        progress?.({ layer: layer.index + 1, layers: layers.length, bytes, total, allBytes: before + bytes, allTotal });
      report();
      const sink = (chunk: Uint8Array) => {
        interrupted();
        parser.push(chunk);
      };
      const onRead = progress && ((n: number) => {
        bytes += n;
        const now = performance.now();
        if (now - reported >= PROGRESS_MS) {
          reported = now;
          report();
        }
      });
      const measured = worker
        ? await worker.read(sink, { onRead, check: interrupted })
        : await readLayer(layer, layers.length, sink, { onRead, check: interrupted, signal: options.signal });
      parser.finish();
      writer.endLayer();
      bytes = total;
      before += total;
      progress?.({ layer: layer.index + 1, layers: layers.length, bytes, total, allBytes: before, allTotal });
      result.layers.push({ index: layer.index, ...measured });
    }
    writer.finish();
    result.stats = { ...writer.stats };
    result.bytesWritten = writer.stats.bytes;
  } finally {
    await worker?.close();
    writer.close();
  }
  return result;
}

/**
 * Learn each layer's diff_id by decompressing it (no writes), and return the layers in `config.rootfs.diff_ids` order.
 * Used only after a mismatch, so the ordinary case decompresses each layer once.
 */
export async function reorderLayers(image: Image, signal?: AbortSignal): Promise<ImageLayer[]> {
  const count = image.layers.length;
  const byDiffId = new Map<string, ImageLayer>();
  for (const layer of image.layers) {
    const where = `in ${layerName(layer, count)} (matching layers to diff_ids)`;
    const check = () => throwIfInterrupted(signal, "finish the conversion", where);
    const { diffId } = await readLayer(layer, count, () => {}, { checkDiffId: false, check, signal });
    byDiffId.set(diffId, layer);
  }
  return image.layers.map((slot, index) => {
    const layer = byDiffId.get(slot.diffId);
    if (!layer) {
      throw new DigestMismatchError(
        `diff_id of layer ${index + 1}`,
        slot.diffId,
        "no layer with that content",
        `Cannot find the content of diff_id ${slot.diffId} (layer ${
          index + 1
        }/${count}): no layer blob decompresses to it`,
      );
    }
    return { ...layer, index, diffId: slot.diffId };
  });
}

/** Whether a failure of the in-order pass says the layers are listed out of order. */
export function isReorderMismatch(err: unknown, image: Image): boolean {
  return err instanceof DigestMismatchError && err.what.startsWith("diff_id of ") &&
    image.layers.some((l) => l.diffId === err.actual);
}
