/**
 * What one source of images implements (an archive, a layout directory, a registry): its manifests and blobs by
 * descriptor. Selecting the image (index → platform → manifest → config → layers) and verifying every document is
 * shared (select_image.ts), so a new source is one module that maps these two calls onto its storage.
 *
 * @module
 */
import type { Blob } from "./blob.ts";
import type { Descriptor } from "./descriptor.ts";

/** Manifests and blobs of one source, by descriptor. */
export interface ImageSource {
  /** Names the source in messages: "archive x.tar", "directory x/", "registry 127.0.0.1:5000 (library/busybox)". */
  readonly description: string;
  /**
   * The bytes of an index or manifest as stored, not yet verified (the caller checks size and digest). A registry
   * fetches it from `/manifests/<digest>`; a layout reads the blob.
   *
   * @param what names it in errors: "manifest", "index"
   */
  manifest(descriptor: Descriptor, what: string): Promise<Uint8Array>;
  /**
   * A config or layer blob; nothing is read yet. Throws when the source knows at once that it lacks the blob (a
   * layout without that file); a registry finds out when the blob is opened.
   *
   * @param what names it in errors: "config", "layer 2"
   */
  blob(descriptor: Descriptor, what: string): Blob;
}
