/**
 * What the rootfs writer did differently from what a layer said, and why: the findings it reports instead of
 * failing.
 *
 * @module
 */

/** What a {@linkcode RootfsWarning} is about. */
export type RootfsWarningCode =
  /** An absolute name or a `..` component, resolved inside the root instead. */
  | "unsafe-path"
  /** An entry for the root itself that is not a directory; skipped. */
  | "root-entry"
  /** `.wh..` at the root or `.wh...`; ignored. */
  | "whiteout-ignored"
  /** A character or block device that could not be made; skipped. */
  | "device-skipped"
  /** Owners were not applied (approximate mode); reported once. */
  | "ownership-skipped"
  /** An xattr that was not written (policy, or refused by the kernel or filesystem). */
  | "xattr-skipped";

/** Something the writer did differently from what the layer said, and why. */
export interface RootfsWarning {
  readonly code: RootfsWarningCode;
  /** The layer name given to `RootfsWriter.beginLayer`. */
  readonly layer: string;
  /** The entry, for display. */
  readonly path: string;
  /** One sentence for the user. */
  readonly message: string;
}
