/**
 * Open an image from the reference text users write.
 *
 * @module
 */
import type { Image } from "./image/image.ts";
import { parsePlatform, type Platform } from "./image/platform.ts";
import { openImage, openImageAsync } from "./image/source.ts";
import { parseReference } from "./reference.ts";

/** Options shared by the verbs that open an image. */
export interface ImageOptions {
  /** `os/arch[/variant]` or a Platform; the host's by default. */
  platform?: string | Platform | undefined;
  /** Where a compressed outer archive is decompressed to (must exist); the system temp dir by default. */
  tempDir?: string | undefined;
  /** The name of that temporary file in `tempDir`; a random `.oci2lxc-*.tar` by default. */
  tempName?: string | undefined;
}

/** Open an image reference (`oci-archive:x.tar`, `docker-archive:…`, `oci:DIR`, or a path). Call `close()` when done. */
export function open(reference: string, options: ImageOptions = {}): Image {
  const platform = typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
  return openImage(parseReference(reference), { platform, tempDir: options.tempDir, tempName: options.tempName });
}

/**
 * Like {@linkcode open}, for long-running callers: a compressed outer
 * archive is unpacked with breaks for the event loop, and `signal` stops it.
 */
export function openAsync(
  reference: string,
  options: ImageOptions & { signal?: AbortSignal | undefined } = {},
): Promise<Image> {
  const platform = typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
  return openImageAsync(parseReference(reference), {
    platform,
    tempDir: options.tempDir,
    tempName: options.tempName,
    signal: options.signal,
  });
}
