/**
 * Stage `plan`: plan the container from the image config, the caller's options and the assembled rootfs (which is
 * why planning comes after assembly: docs/design-notes.md), make the context plugins see, name the distribution
 * (hook `detectDistro`) and let plugins amend the plan (hook `plan`).
 *
 * @module
 */
import { join } from "node:path";
import type { ConversionContext, DistroInfo } from "../conversion.ts";
import { makePlan } from "../plan/make_plan.ts";
import { RootfsAccess } from "../rootfs/rootfs_access.ts";
import { beginReport, containerOf, UNMANAGED } from "./conversion_report.ts";
import type { Assembled, Planned } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Plan the container and make the plugins' context. */
export const planStage: Stage<Assembled, Planned> = {
  name: "plan",
  before: "the plan",
  async run(assembled, run) {
    const { image, staging } = assembled;
    const { options, name, dest } = run.request;
    const rootfs = new RootfsAccess(join(staging.path, "rootfs"), { idmap: options.idmap });
    let open = true;
    const closeRootfs = () => {
      if (open) rootfs.close();
      open = false;
    };
    run.onFailure(closeRootfs);
    const plan = makePlan(image.config.value, image.platform, rootfs, {
      name,
      ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
      ...(options.cmd ? { cmd: options.cmd } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.user !== undefined ? { user: options.user } : {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      ...(options.stopSignal !== undefined ? { stopSignal: options.stopSignal } : {}),
      ...(options.volumes ? { volumes: options.volumes } : {}),
      ...(options.idmap ? { idmap: options.idmap } : {}),
      net: run.request.net,
    });
    const context: ConversionContext = {
      image,
      options,
      dest,
      name,
      format: run.output.format,
      stagingDir: staging.path,
      rootfs,
      distro: UNMANAGED,
      plan,
      config: run.output.config,
      files: run.output.files,
      report: beginReport(run, assembled, containerOf({ plan })),
      warn: run.warn,
    };
    const detected = await run.runner.first<DistroInfo>("detectDistro", context);
    context.distro = detected?.value ?? UNMANAGED;
    await run.runner.sequential("plan", context);
    for (const w of context.plan.warnings) run.warn(w);
    return { ...assembled, context, closeRootfs };
  },
};
