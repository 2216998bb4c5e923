/**
 * oci2lxc as a library: the same functions the CLI calls.
 *
 * @example Converting an image from a script
 * ```ts
 * import assert from "node:assert/strict";
 * import { convert } from "./mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const report = await convert("oci-archive:fixtures/images/busybox.oci.tar", `${dir}/web`, {
 *   net: ["link=lxcbr0,ip=10.0.3.5/24,gw=10.0.3.1"],
 *   allowApproximate: Deno.uid() !== 0, // a normal user cannot set owners: every file becomes theirs
 * });
 * assert.equal(report.container.argv[0], "/bin/report.sh"); // the fixture's Entrypoint
 * assert(Deno.statSync(`${dir}/web/config`).isFile);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { convert, inspect, open, pull, verify } from "./core/api.ts";
export type { ImageOptions, PullOptions, PullResult, RegistryOptions } from "./core/api.ts";
export type {
  ConfigAdditions,
  ConversionContext,
  ConversionProgress,
  ConversionReport,
  ConvertOptions,
  DistroInfo,
} from "./core/conversion.ts";
export { DigestMismatchError, EXIT_CODES, Oci2LxcError, UNEXPECTED_EXIT_CODE } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export type { Blob, BlobOpenOptions, LocalRange } from "./core/image/blob.ts";
export type { Descriptor } from "./core/image/descriptor.ts";
export type { Image, ImageConfig, ImageDocument, ImageLayer } from "./core/image/image.ts";
export type { ImageSource } from "./core/image/image_source.ts";
export type { Platform } from "./core/image/platform.ts";
export type { InspectReport } from "./core/inspect.ts";
export type { ContainerPlan, PlanField } from "./core/plan/container_plan.ts";
export { definePlugin, HOOK_KINDS, PluginRunner } from "./core/plugin.ts";
export type { HookName, Plugin, PluginOrder } from "./core/plugin.ts";
export type { IdMap, IdRange } from "./core/rootfs/id_map.ts";
export { DEFAULT_UNPRIVILEGED_MAP, parseIdMap } from "./core/rootfs/parse_id_map.ts";
export type { RootfsAccess } from "./core/rootfs/rootfs_access.ts";
export type { VerifyProblem, VerifyReport } from "./core/verify.ts";
export { VERSION } from "./core/version.ts";
export { updateContainer, type UpdateOptions } from "./core/update/update_container.ts";
export { rollbackContainer, type RollbackOptions } from "./core/update/rollback_container.ts";
export type { UpdateReport } from "./core/update/update_report.ts";
export { BUILTIN_FACTORIES, builtinPlugins } from "./plugins/mod.ts";
export { runCli } from "./cli/run_cli.ts";
export type { RunCliOptions } from "./cli/run_cli.ts";
