/**
 * The report a conversion builds: begun when the plan stage makes the context (plugins may read it from then on),
 * finished by the report stage.
 *
 * @module
 */
import type { ConversionContext, ConversionReport, DistroInfo } from "../conversion.ts";
import { formatPlatform } from "../image/platform.ts";
import type { ConversionRun } from "./conversion_run.ts";
import type { Assembled } from "./stage_data.ts";

/** What the distro plugins answer when none knows the rootfs. */
export const UNMANAGED: DistroInfo = { id: "unmanaged", like: [], version: undefined, families: [] };

/** The report as far as the image and the layers tell it; the container part comes with {@linkcode fillReport}. */
export function beginReport(
  run: ConversionRun,
  assembled: Assembled,
  container: ConversionReport["container"],
): ConversionReport {
  const { image, assembled: result } = assembled;
  const { reference, dest, name, options } = run.request;
  const report: ConversionReport = {
    schemaVersion: 1,
    reference,
    dest,
    name,
    dryRun: options.dryRun ?? false,
    image: {
      transport: image.transport,
      refName: image.refName ?? null,
      platform: formatPlatform(image.platform),
      manifestDigest: image.manifest.digest,
      configDigest: image.config.digest,
      layers: result.layers,
      reordered: result.reordered,
    },
    container,
    fields: [],
    distro: UNMANAGED,
    plugins: [],
    warnings: run.warnings,
    rootfs: result.stats,
    paths: { ...run.output.paths },
    timings: run.timings,
    bytesRead: result.layers.reduce((n, l) => n + l.size, 0),
    bytesWritten: result.bytesWritten,
    layerReader: result.readInWorker ? "worker" : "thread",
  };
  return report;
}

/** The container part of the report, from the plan as plugins left it. */
export function containerOf(context: Pick<ConversionContext, "plan">): ConversionReport["container"] {
  const plan = context.plan;
  return {
    kind: plan.kind,
    argv: [...plan.argv],
    env: plan.env.map(([k, v]) => [k, v]),
    user: {
      uid: plan.user.uid,
      gid: plan.user.gid,
      groups: [...plan.user.groups],
      name: plan.user.name ?? null,
      home: plan.user.home,
    },
    cwd: plan.cwd,
    stopSignal: plan.stopSignal,
    network: plan.network.map((n) => ({ type: n.type, keys: n.keys.map(([k, v]) => [k, v]) })),
    mounts: plan.mounts.map((m) => ({ ...m })),
    volumes: plan.volumes.map((v) => v.path),
    idmap: plan.idmap ?? null,
  };
}

/** Finish the report from the context and the plugins that took part. */
export function fillReport(run: ConversionRun, context: ConversionContext): void {
  const report = context.report;
  report.container = containerOf(context);
  report.fields = [...context.plan.fields];
  report.distro = context.distro;
  report.plugins = [...run.runner.ran].map(([plugin, hooks]) => ({ name: plugin, hooks: [...hooks] }));
}
