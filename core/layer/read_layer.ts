/**
 * Stream one image layer from its blob (a local range or a stream), through verification and decompression, into a
 * sink (the tar reader). One read, one decompression.
 *
 * @module
 */
import { shortDigest } from "../digest.ts";
import { DigestMismatchError, isInterruption, Oci2LxcError } from "../errors.ts";
import { readBlob, readBlobHead } from "../image/blob_reader.ts";
import type { ImageLayer } from "../image/image.ts";
import { sniffCompression } from "./decompress.ts";
import type { Compression, OutputSink } from "./decompressor.ts";
import type { LayerJob } from "./layer_job.ts";
import { LayerStream, type LayerStreamResult } from "./layer_stream.ts";

/** How to check a layer while reading it. */
export interface ReadLayerOptions {
  /** Check the content against `layer.diffId` (false when we only want to learn the diff_id). */
  checkDiffId?: boolean;
  /** Called after each slice of the blob is processed, with its compressed size: progress. Keep it cheap. */
  onRead?: ((bytes: number) => void) | undefined;
  /**
   * Called before each slice of the blob; throw from it to stop (an interruption). Unlike a check in the sink, it runs
   * also while the rest of a damaged blob is only hashed.
   */
  check?: (() => void) | undefined;
  /** Cancels the transfer of a blob that is a stream (a registry's). */
  signal?: AbortSignal | undefined;
}

/** "layer 2/5 (sha256:ab12cd34ef56)" for messages. */
export function layerName(layer: ImageLayer, count: number): string {
  return `layer ${layer.index + 1}/${count} (${shortDigest(layer.blob.digest ?? layer.diffId)})`;
}

/** The compression of a layer, sniffing the first bytes when the source does not say. */
async function layerCompression(layer: ImageLayer): Promise<Compression> {
  if (layer.compression !== undefined) return layer.compression;
  return sniffCompression(await readBlobHead(layer.blob, 8));
}

/**
 * What reading `layer` takes, as plain data (for this thread or the layer worker): its name, where its bytes are, its
 * compression, and the digest, size and diff_id it must have.
 *
 * @throws {Oci2LxcError} when a compressed layer has no digest to check
 */
export async function layerJob(layer: ImageLayer, count: number, checkDiffId: boolean): Promise<LayerJob> {
  const name = layerName(layer, count);
  const compression = await layerCompression(layer);
  // A legacy docker-archive names layers by path; an uncompressed blob's digest is its diff_id.
  const expectedDigest = layer.blob.digest ?? (compression === "none" ? layer.diffId : undefined);
  if (expectedDigest === undefined) {
    throw new Oci2LxcError("image", `Cannot verify ${name}: the archive gives no digest for a compressed layer`);
  }
  return {
    name,
    range: layer.blob.local,
    compression,
    expectedDigest,
    expectedSize: layer.blob.size,
    expectedDiffId: checkDiffId ? layer.diffId : undefined,
  };
}

/**
 * Read, verify and decompress `layer`, handing the tar stream to `sink`. Throws `DigestMismatchError` on a digest, size
 * or diff_id mismatch.
 */
export async function readLayer(
  layer: ImageLayer,
  count: number,
  sink: OutputSink,
  options: ReadLayerOptions = {},
): Promise<LayerStreamResult> {
  const job = await layerJob(layer, count, options.checkDiffId ?? true);
  // A damaged blob usually first shows as a tar or write error; the digest mismatch is what the user can act on, so
  // after a sink error the rest of the blob is still hashed (not written) and a mismatch wins.
  let sinkError: unknown;
  const guardedSink: OutputSink = (chunk) => {
    if (sinkError !== undefined) return;
    try {
      sink(chunk);
    } catch (err) {
      if (isInterruption(err)) throw err;
      sinkError = err;
    }
  };
  const stream = new LayerStream({ ...job, sink: guardedSink });
  try {
    const { onRead, check } = options;
    await readBlob(layer.blob, (chunk) => {
      check?.();
      stream.push(chunk);
      onRead?.(chunk.length);
    }, { signal: options.signal });
  } catch (err) {
    stream.close();
    // An abort that cancelled a stream's transfer is an interruption, not a read error.
    options.check?.();
    throw err;
  }
  if (sinkError === undefined) return stream.finish();
  try {
    stream.finish();
  } catch (err) {
    if (err instanceof DigestMismatchError) throw err;
  }
  throw sinkError;
}
