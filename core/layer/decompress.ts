/**
 * Which decompressor a layer needs: by media type, or by magic bytes when the media type says nothing (docker-archive
 * layers).
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import type { Compression, Decompressor, OutputSink } from "./decompressor.ts";
import { GzipDecompressor } from "./gzip_decompressor.ts";
import { zlibNgAvailable, ZlibNgGzipDecompressor } from "./zlib_ng_gzip_decompressor.ts";
import { ZstdDecompressor } from "./zstd_decompressor.ts";

/** Layer media types oci2lxc reads, and the compression each one names. */
const LAYER_MEDIA_TYPES: Readonly<Record<string, Compression>> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  // Deprecated by the OCI spec but still found in Windows-derived images.
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.diff.tar": "none",
};

/**
 * The compression a layer media type names.
 *
 * @param mediaType the descriptor's `mediaType`
 * @param where names the descriptor for the error message ("manifest layer 3")
 * @throws {Oci2LxcError} code "image" for a media type oci2lxc does not read
 *
 * @example Mapping an OCI media type
 * ```ts
 * import assert from "node:assert/strict";
 * import { compressionOf } from "./decompress.ts";
 * assert.equal(compressionOf("application/vnd.oci.image.layer.v1.tar+zstd", "layer 1"), "zstd");
 * ```
 */
export function compressionOf(mediaType: string, where: string): Compression {
  const compression = Object.hasOwn(LAYER_MEDIA_TYPES, mediaType) ? LAYER_MEDIA_TYPES[mediaType] : undefined;
  if (compression !== undefined) return compression;
  throw new Oci2LxcError(
    "image",
    `Cannot read ${where}: media type ${JSON.stringify(mediaType)} is not a layer type oci2lxc reads`,
    {
      hint: `Supported layer media types: ${Object.keys(LAYER_MEDIA_TYPES).join(", ")}`,
    },
  );
}

/**
 * Guess a blob's compression from its first bytes: gzip (`1f 8b`), zstd (`28 b5 2f fd`), otherwise "none". Pass at
 * least 4 bytes; fewer bytes can only be recognised as gzip or "none".
 *
 * @example Sniffing a gzip header
 * ```ts
 * import assert from "node:assert/strict";
 * import { sniffCompression } from "./decompress.ts";
 * assert.equal(sniffCompression(new Uint8Array([0x1f, 0x8b, 8, 0])), "gzip");
 * ```
 */
export function sniffCompression(firstBytes: Uint8Array): Compression {
  if (firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return "gzip";
  if (
    firstBytes[0] === 0x28 && firstBytes[1] === 0xb5 &&
    firstBytes[2] === 0x2f && firstBytes[3] === 0xfd
  ) {
    return "zstd";
  }
  return "none";
}

/**
 * A decompressor for `compression` that writes to `sink`; "none" passes the input through unchanged. gzip goes through
 * Deno's own zlib-ng when this Deno lets us drive it synchronously (twice as fast), else the system libz.
 *
 * @param name names the blob in error messages ("layer 2 (sha256:ab12cd34ef56)")
 */
export function createDecompressor(
  compression: Compression,
  sink: OutputSink,
  name: string,
): Decompressor {
  switch (compression) {
    case "gzip":
      return zlibNgAvailable() ? new ZlibNgGzipDecompressor(sink, name) : new GzipDecompressor(sink, name);
    case "zstd":
      return new ZstdDecompressor(sink, name);
    case "none":
      return new Passthrough(sink);
  }
}

/** Input is output: for uncompressed layers. */
class Passthrough implements Decompressor {
  readonly #sink: OutputSink;

  constructor(sink: OutputSink) {
    this.#sink = sink;
  }

  push(input: Uint8Array): void {
    if (input.length > 0) this.#sink(input);
  }

  finish(): void {}

  close(): void {}
}
