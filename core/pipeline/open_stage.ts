/**
 * Stage `open`: claim DEST (its lock, stale leftovers of dead runs; not for a dry run), then resolve the reference
 * and open the image for the platform; the index, manifest and config are verified while they are read.
 *
 * @module
 */
import { open } from "../open.ts";
import { claimDestination } from "../rootfs/dest_claim.ts";
import type { Stage } from "./stage_table.ts";
import type { Opened } from "./stage_data.ts";

/** Claim DEST and open the image; the image is closed, then the claim released, when the conversion ends. */
export const openStage: Stage<void, Opened> = {
  name: "open",
  async run(_input, run) {
    const { options, dest } = run.request;
    // A dry run writes nothing near DEST: it takes no lock, and a compressed archive is unpacked in the system's
    // temp dir.
    const claim = options.dryRun ? undefined : await claimDestination(dest, {
      wait: options.wait,
      signal: options.signal,
      onWarning: run.warn,
      onWait: (message) => options.onWarning?.(message),
    });
    // After a failure also the directories this run created go, once the unpacked archive is gone (image.close).
    if (claim) run.atEnd((failed) => claim.release(failed));
    const image = await open(run.request.reference, {
      platform: options.platform,
      tempDir: claim?.dir,
      tempName: claim?.unpackName,
      signal: options.signal,
      registry: options.registry,
    });
    run.atEnd(() => image.close());
    for (const w of image.warnings) run.warn(w);
    return { image };
  },
};
