/**
 * Stage `commit`: the output writer puts the result in place from the staged container (LXC: the config and the
 * files beside the rootfs, then the staging directory renamed into DEST; Proxmox VE: the template and the conf,
 * then the staging directory removed). Until here a failure leaves DEST as it was.
 *
 * @module
 */
import type { Committed, Configured } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Write the output. */
export const commitStage: Stage<Configured, Committed> = {
  name: "commit",
  before: "the commit",
  async run(configured, run) {
    configured.closeRootfs();
    const result = await configured.rendered.write(configured.staging, run.options.dryRun ?? false);
    return { ...configured, result };
  },
};
