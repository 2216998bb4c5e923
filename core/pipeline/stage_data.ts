/**
 * What each stage hands the next: the data grows stage by stage, and every field is there from the stage that
 * makes it on (no placeholders, no `!`).
 *
 * @module
 */
import type { AssembleResult } from "../assemble.ts";
import type { ConversionContext } from "../conversion.ts";
import type { Image } from "../image/image.ts";
import type { OutputResult, RenderedOutput } from "../output/output_writer.ts";
import type { Staging } from "../rootfs/staging.ts";

/** After `open`: the image, its index, manifest and config verified. */
export interface Opened {
  readonly image: Image;
}

/** After `assemble`: the layers applied into the staging directory's rootfs. */
export interface Assembled extends Opened {
  readonly staging: Staging;
  readonly assembled: AssembleResult;
}

/** After `plan` (and `setup`, which changes the rootfs, not the data): the context plugins see, with its plan. */
export interface Planned extends Assembled {
  readonly context: ConversionContext;
  /** Close the confined rootfs (once; the commit does before the output is written). */
  readonly closeRootfs: () => void;
}

/** After `configure`: the output format's config, rendered. */
export interface Configured extends Planned {
  readonly rendered: RenderedOutput;
}

/** After `commit`: where the output went. */
export interface Committed extends Configured {
  readonly result: OutputResult;
}
