/**
 * Open an image from the reference text users write: the one place that maps a reference's transport to the source
 * module that reads it.
 *
 * @module
 */
import type { Image } from "./image/image.ts";
import { hostPlatform, parsePlatform, type Platform } from "./image/platform.ts";
import { openRegistryImage, type OpenRegistryOptions } from "./image/registry_source.ts";
import { openImage } from "./image/source.ts";
import { parseReference } from "./reference.ts";
import { parseRegistryReference } from "./registry/reference.ts";

/**
 * How to reach a registry (`docker://`): credentials, TLS (`--creds`, `--authfile`, `--cert-dir`, `--tls-verify`), the
 * blob cache (`--cache-dir`, `--no-cache`, `--pull`, `--max-parallel`) and mirrors (`--registry-mirror`,
 * `--registries-conf`).
 */
export type RegistryOptions = Omit<OpenRegistryOptions, "signal" | "platform">;

/** Options shared by the verbs that open an image. */
export interface ImageOptions {
  /** `os/arch[/variant]` or a Platform; the host's by default. */
  platform?: string | Platform | undefined;
  /** Where a compressed outer archive is decompressed to (must exist); the system temp dir by default. */
  tempDir?: string | undefined;
  /** The name of that temporary file in `tempDir`; a random `.oci2lxc-*.tar` by default. */
  tempName?: string | undefined;
  /** Stops the opening (an "interrupted" error), also while a compressed outer archive is unpacked. */
  signal?: AbortSignal | undefined;
  /** For `docker://` references: credentials and TLS (the CLI's registry options). */
  registry?: RegistryOptions | undefined;
}

/**
 * Open an image reference (`oci-archive:x.tar`, `docker-archive:…`, `oci:DIR`, `docker://…`, or a path): the index,
 * manifest and config are read and verified, the layers not yet (a registry's are streamed when they are read). Call
 * `close()` on the image when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { open } from "./open.ts";
 * const image = await open("oci-archive:fixtures/images/busybox.oci.tar", { platform: "linux/amd64" });
 * try {
 *   assert.equal(image.layers.length, 1); // the busybox fixture has one layer
 * } finally {
 *   image.close();
 * }
 * ```
 */
export function open(reference: string, options: ImageOptions = {}): Promise<Image> {
  const platform = typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
  const parsed = parseReference(reference);
  if (parsed.transport === "docker") {
    return openRegistryImage(parseRegistryReference(reference), {
      ...options.registry,
      platform: platform ?? hostPlatform(),
      signal: options.signal,
    });
  }
  return openImage(parsed, {
    platform,
    tempDir: options.tempDir,
    tempName: options.tempName,
    signal: options.signal,
  });
}
