/**
 * The library's verbs, taking the same inputs as the CLI: scripts and the command line go through exactly these
 * functions.
 *
 * @module
 */
import { type ImageOptions, open, type RegistryOptions } from "./open.ts";
import { inspectImage, type InspectReport } from "./inspect.ts";
import { verifyImage, type VerifyReport } from "./verify.ts";
import type { ConversionReport, ConvertOptions } from "./conversion.ts";
import { convertImage } from "./pipeline.ts";
import { builtinPlugins } from "../plugins/mod.ts";

export { type ImageOptions, open, type RegistryOptions };
export { pull, type PullOptions, type PullResult } from "./pull.ts";

/**
 * Describe an image: platforms, manifest, config, layers, history.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspect } from "./api.ts";
 * const report = await inspect("oci-archive:fixtures/images/busybox.oci.tar");
 * assert.match(report.config.digest, /^sha256:[0-9a-f]{64}$/);
 * ```
 */
export async function inspect(reference: string, options: ImageOptions = {}): Promise<InspectReport> {
  const image = await open(reference, options);
  try {
    return inspectImage(image);
  } finally {
    image.close();
  }
}

/**
 * Re-check every digest and size; `ok` is false when anything mismatched. `signal` stops it (an "interrupted" error),
 * also while a compressed outer archive is unpacked.
 */
export async function verify(reference: string, options: ImageOptions = {}): Promise<VerifyReport> {
  const image = await open(reference, options);
  try {
    return await verifyImage(image, options.signal);
  } finally {
    image.close();
  }
}

/**
 * Convert an image into an LXC container directory (DEST/config, DEST/rootfs). The built-in plugins take part unless
 * `options.plugins` lists others.
 */
export function convert(reference: string, dest: string, options: ConvertOptions = {}): Promise<ConversionReport> {
  return convertImage(reference, dest, { ...options, plugins: options.plugins ?? builtinPlugins() });
}
