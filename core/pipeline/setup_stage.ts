/**
 * Stage `setup`: make the plan's directories in the staged rootfs, then let plugins change it through the confined
 * API and put files beside it (hook `rootfs`).
 *
 * @module
 */
import type { Planned } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Set up the rootfs. */
export const setupStage: Stage<Planned, Planned> = {
  name: "setup",
  before: "setting up the rootfs",
  async run(planned, run) {
    const { context } = planned;
    for (const d of context.plan.directories) {
      if (!context.rootfs.exists(d.path)) context.rootfs.mkdir(d.path, { mode: d.mode, uid: d.uid, gid: d.gid });
    }
    await run.runner.sequential("rootfs", context);
    return planned;
  },
};
