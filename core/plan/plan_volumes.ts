/**
 * The image's Volumes and the caller's `--volume` bind mounts. A volume is a directory in the rootfs (created root:root
 * 0755 when missing, as Docker does; an existing one keeps its owner); `--volume HOSTDIR:PATH[:ro]` bind-mounts a host
 * directory there, or anywhere else below `/`.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { cleanAbsolutePath } from "./clean_absolute_path.ts";
import type { PlanDirectory, PlanField, PlanMount, PlanVolume } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { isObject, optionalField, type RuntimeConfig } from "./runtime_config.ts";

/** The planned volumes and mounts. */
export interface PlannedVolumes {
  /** The image's volumes that are directories (or missing) in the rootfs. */
  readonly volumes: PlanVolume[];
  /** Host directories to bind-mount, parents before children. */
  readonly mounts: PlanMount[];
  /** The volume directories the rootfs lacks, none already in `planned`. */
  readonly directories: PlanDirectory[];
  /** What became of the image's Volumes. */
  readonly field: PlanField;
}

/**
 * Plan the image's Volumes and the caller's `--volume` specs. `planned` are the directories already to be created (the
 * working directory), so none is created twice.
 *
 * @throws {Oci2LxcError} `config` for a volume path that is not absolute, `usage` for a bad `--volume`
 */
export function planVolumes(
  rc: RuntimeConfig,
  specs: readonly string[],
  rootfs: RootfsReader,
  planned: readonly PlanDirectory[],
  warn: (text: string) => void,
): PlannedVolumes {
  const mounts = parseVolumeOptions(specs);
  const imageVolumes = optionalField(rc, "Volumes", isObject, "an object");
  const volumes: PlanVolume[] = [];
  const directories: PlanDirectory[] = [];
  for (const key of Object.keys(imageVolumes ?? {})) {
    const what = `Volumes key ${JSON.stringify(key)} of the image config`;
    checkConfigValue(key, what);
    const path = cleanAbsolutePath(key);
    if (path === undefined || path === "/") {
      throw new Oci2LxcError("config", `Cannot use ${what}: not an absolute path below /`);
    }
    if (volumes.some((v) => v.path === path)) continue;
    const exists = rootfs.exists(path);
    if (exists && rootfs.isDirEmpty(path) === undefined) {
      warn(`ignored the volume ${path}: it is not a directory in the rootfs`);
      continue;
    }
    const bound = mounts.some((m) => m.target === path);
    volumes.push({ path, exists, bound });
    if (!exists && ![...planned, ...directories].some((d) => d.path === path)) {
      directories.push({ path, uid: 0, gid: 0, mode: 0o755, reason: "Volumes" });
    }
  }
  const unbound = volumes.filter((v) => !v.bound).map((v) => v.path);
  if (unbound.length > 0) {
    const many = unbound.length > 1;
    warn(
      `the volume${many ? "s" : ""} ${unbound.join(", ")} stay${many ? "" : "s"} in the rootfs; ` +
        "bind a host directory with --volume HOSTDIR:PATH to keep data apart",
    );
  }
  const field = fieldFate("Volumes", volumes.some((v) => v.bound) ? "lxc.mount.entry" : undefined, {
    imageSet: imageVolumes !== undefined && Object.keys(imageVolumes).length > 0,
    mapped: "directories in the rootfs; bound to host directories where --volume says so",
    defaulted: "not set",
  });
  return { volumes, mounts, directories, field };
}

/** Parse `--volume HOSTDIR:PATH[:ro|:rw]` options; parents are mounted before children. */
function parseVolumeOptions(specs: readonly string[]): PlanMount[] {
  const mounts: PlanMount[] = [];
  specs.forEach((spec, i) => {
    const what = `--volume[${i}] ${JSON.stringify(spec)}`;
    checkConfigValue(spec, `--volume[${i}]`, "usage");
    const parts = spec.split(":");
    const mode = parts.length === 3 ? parts[2] : "rw";
    const source = parts[0] ?? "";
    const target = cleanAbsolutePath(parts[1] ?? "");
    if (parts.length < 2 || parts.length > 3 || (mode !== "ro" && mode !== "rw")) {
      throw new Oci2LxcError("usage", `Cannot use ${what}: expected HOSTDIR:PATH or HOSTDIR:PATH:ro`);
    }
    if (!source.startsWith("/")) {
      throw new Oci2LxcError("usage", `Cannot use ${what}: HOSTDIR must be an absolute path`);
    }
    if (target === undefined || target === "/") {
      throw new Oci2LxcError("usage", `Cannot use ${what}: PATH must be an absolute path below /`);
    }
    if (mounts.some((m) => m.target === target)) {
      throw new Oci2LxcError("usage", `Cannot use ${what}: another --volume already mounts ${target}`);
    }
    mounts.push({ source: cleanAbsolutePath(source)!, target, readOnly: mode === "ro" });
  });
  // A stable sort by depth: a parent's mount must not hide its child's.
  const depth = (p: string) => p.split("/").length;
  return mounts.map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.target) - depth(b.m.target) || a.i - b.i)
    .map((x) => x.m);
}
