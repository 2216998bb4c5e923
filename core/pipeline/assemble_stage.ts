/**
 * Stage `assemble`: apply the layers into a staging directory beside DEST (for a dry run, in the system's temp
 * dir), each layer verified (digest and diff_id) in the same pass that writes it, re-pairing layers by content if
 * the archive lists them out of order.
 *
 * @module
 */
import { join } from "node:path";
import { type AssembleResult, assembleRootfs, isReorderMismatch, reorderLayers } from "../assemble.ts";
import type { ImageLayer } from "../image/image.ts";
import { createStaging, type Staging } from "../rootfs/staging.ts";
import type { ConversionRun } from "./conversion_run.ts";
import type { Assembled, Opened } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Assemble the rootfs in a new staging directory; it is removed if a later stage fails. */
export const assembleStage: Stage<Opened, Assembled> = {
  name: "assemble",
  before: "the layers",
  async run(opened, run) {
    const { image } = opened;
    const { options } = run;
    let stagingAt = run.request.dest;
    if (options.dryRun) {
      const dryRunDir = Deno.makeTempDirSync({ prefix: "oci2lxc-dry-run-" });
      // Empty by then (the staging directory was removed); recursive only as a safety net.
      run.atEnd(() => Deno.removeSync(dryRunDir, { recursive: true }));
      stagingAt = join(dryRunDir, run.request.name);
    }
    // The staging directory of the latest attempt, removed if anything fails from here on.
    let latest: Staging | undefined;
    // With pauses: a second Ctrl-C during a long clean-up ends the process at once, as README says.
    run.onFailure(() => latest?.abortAsync());
    const assemble = async (layers: readonly ImageLayer[]) => {
      const staging = createStaging(stagingAt);
      latest = staging;
      return { staging, assembled: await assembleInto(staging, layers, run) };
    };
    try {
      return { ...opened, ...(await assemble(image.layers)) };
    } catch (err) {
      if (!isReorderMismatch(err, image)) throw err;
      await latest?.abortAsync();
      run.warn(
        "the archive lists its layers in another order than the config's diff_ids; applying them in diff_ids order",
      );
      const again = await assemble(await reorderLayers(image, options.signal));
      return { ...opened, staging: again.staging, assembled: { ...again.assembled, reordered: true } };
    }
  },
};

function assembleInto(staging: Staging, layers: readonly ImageLayer[], run: ConversionRun): Promise<AssembleResult> {
  const { options } = run;
  return assembleRootfs(layers, join(staging.path, "rootfs"), {
    idmap: options.idmap,
    approximate: run.request.approximate,
    onWarning: run.warn,
    signal: options.signal,
    onProgress: (p) => run.progress({ stage: "assemble", ...p }),
  });
}
