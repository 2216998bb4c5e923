/**
 * Stage `open`: resolve the reference and open the image for the platform; the index, manifest and config are
 * verified while they are read.
 *
 * @module
 */
import { dirname } from "node:path";
import { openAsync } from "../open.ts";
import type { Stage } from "./stage_table.ts";
import type { Opened } from "./stage_data.ts";

/** Open the image; it is closed when the conversion ends. */
export const openStage: Stage<void, Opened> = {
  name: "open",
  async run(_input, run) {
    const { options, dest } = run.request;
    // A dry run writes nothing near DEST: a compressed archive is unpacked in the system's temp dir.
    const image = await openAsync(run.request.reference, {
      platform: options.platform,
      tempDir: options.dryRun ? undefined : dirname(dest),
      signal: options.signal,
    });
    run.atEnd(() => image.close());
    for (const w of image.warnings) run.warn(w);
    return { image };
  },
};
