/**
 * The one place that knows the stages of a conversion and their order: the stage table below, one entry per
 * stage, each a named function in `core/pipeline/` with a typed input and output. The stage names are
 * `STAGE_NAMES` (`core/pipeline/stage_names.ts`), shared by progress, timings, hooks, docs and the report schema.
 * The output format is a writer chosen before anything is opened and used at the end (`core/output/`), so every
 * stage and hook runs the same for each format.
 *
 * @module
 */
import { basename } from "node:path";
import type { ConversionContext, ConversionReport, ConvertOptions } from "./conversion.ts";
import { Oci2LxcError } from "./errors.ts";
import { geteuid } from "./native/libc.ts";
import { outputWriter } from "./output/output_formats.ts";
import { parseNetSpecs } from "./network/net_spec.ts";
import { checkContainerName } from "./plan/container_name.ts";
import { guardDestination } from "./rootfs/dest_guard.ts";
import { PluginRunner } from "./plugin.ts";
import { assembleStage } from "./pipeline/assemble_stage.ts";
import { commitStage } from "./pipeline/commit_stage.ts";
import { configureStage } from "./pipeline/configure_stage.ts";
import { type ConversionRequest, ConversionRun } from "./pipeline/conversion_run.ts";
import { openStage } from "./pipeline/open_stage.ts";
import { planStage } from "./pipeline/plan_stage.ts";
import { reportStage } from "./pipeline/report_stage.ts";
import { setupStage } from "./pipeline/setup_stage.ts";
import { StageTable } from "./pipeline/stage_table.ts";

/** The stages, in the order of `STAGE_NAMES`; each entry's output is the next one's input. */
export const STAGES: StageTable<void, ConversionReport> = StageTable.start<void>()
  .then(openStage)
  .then(assembleStage)
  .then(planStage)
  .then(setupStage)
  .then(configureStage)
  .then(commitStage)
  .then(reportStage);

/**
 * Convert the image `reference` into an LXC container directory `dest`
 * (DEST/config and DEST/rootfs), or with `format: "pve"` a Proxmox VE
 * template and conf in the directory `dest`. Nothing is written outside
 * DEST's parent directory, and DEST appears only complete: a failure leaves
 * it as it was.
 */
export async function convertImage(
  reference: string,
  dest: string,
  options: ConvertOptions = {},
): Promise<ConversionReport> {
  // Before anything: checks of the request that need no image (DEST's guard among them). Nothing is opened, made or
  // taken until they pass; DEST's lock is taken as the open stage begins.
  const request = checkRequest(reference, dest, options);
  const output = outputWriter(request, options);
  // A bad plugin list must not leave an unpacked archive behind either.
  const runner = new PluginRunner<ConversionContext>(options.plugins ?? []);

  const run = new ConversionRun(request, runner, output);
  if (request.approximate) {
    run.warn("running as a normal user: file owners are not applied and device nodes are skipped");
  }
  return await STAGES.run(undefined, run);
}

/** The request as the stages use it; throws for what is wrong whatever the image. */
function checkRequest(reference: string, dest: string, options: ConvertOptions): ConversionRequest {
  // DEST first: what --force may replace, and an existing DEST without it (core/rootfs/dest_guard.ts).
  const { absDest } = guardDestination(dest, {
    force: options.force,
    replaceAny: options.replaceAny,
    format: options.format,
    dryRun: options.dryRun,
  });
  const name = options.name ?? basename(absDest);
  checkContainerName(name, "Pass --name, or choose a DEST whose last component is a valid name");
  const net = parseNetSpecs(options.net ?? []);
  const approximate = geteuid() !== 0;
  if (approximate && !options.allowApproximate) {
    throw new Oci2LxcError(
      "usage",
      "Cannot convert as a normal user without approximating: file owners cannot be set and device nodes cannot be made",
      { hint: "Run as root, or pass --allow-approximate to keep going with your own uid and no devices" },
    );
  }
  return { reference, dest: absDest, name, options, approximate, net };
}
