/**
 * The library's verbs, taking the same inputs as the CLI: scripts and the
 * command line go through exactly these functions.
 *
 * @module
 */
import type { Image } from "./image/image.ts";
import { parsePlatform, type Platform } from "./image/platform.ts";
import { openImage } from "./image/source.ts";
import { inspectImage, type InspectReport } from "./inspect.ts";
import { parseReference } from "./reference.ts";
import { verifyImage, type VerifyReport } from "./verify.ts";

/** Options shared by the read-only verbs. */
export interface ImageOptions {
  /** `os/arch[/variant]` or a Platform; the host's by default. */
  platform?: string | Platform | undefined;
  /** Where a compressed outer archive is decompressed to; the system temp dir by default. */
  tempDir?: string | undefined;
}

/** Open an image reference (`oci-archive:x.tar`, `docker-archive:…`, `oci:DIR`, or a path). */
export function open(reference: string, options: ImageOptions = {}): Image {
  const platform = typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
  return openImage(parseReference(reference), { platform, tempDir: options.tempDir });
}

/**
 * Describe an image: platforms, manifest, config, layers, history.
 *
 * @example
 * ```ts ignore
 * import { inspect } from "./api.ts";
 * const report = inspect("oci-archive:fixtures/images/busybox.oci.tar");
 * console.log(report.config.digest);
 * ```
 */
export function inspect(reference: string, options: ImageOptions = {}): InspectReport {
  const image = open(reference, options);
  try {
    return inspectImage(image);
  } finally {
    image.close();
  }
}

/** Re-check every digest and size; `ok` is false when anything mismatched. */
export function verify(reference: string, options: ImageOptions = {}): VerifyReport {
  const image = open(reference, options);
  try {
    return verifyImage(image);
  } finally {
    image.close();
  }
}
