/**
 * The data a conversion carries from stage to stage: the options it was
 * given, the context plugins see, and the report it produces.
 *
 * @module
 */
import type { Image } from "./image/image.ts";
import type { Platform } from "./image/platform.ts";
import type { ContainerPlan, PlanField } from "./plan/container_plan.ts";
import type { Plugin } from "./plugin.ts";
import type { IdMap } from "./rootfs/id_map.ts";
import type { RootfsAccess } from "./rootfs/rootfs_access.ts";

/** What the distro plugins found in the rootfs. */
export interface DistroInfo {
  /** os-release `ID` (`debian`, `alpine`), or `unmanaged` when unknown. */
  id: string;
  /** os-release `ID_LIKE`, split. */
  like: string[];
  /** os-release `VERSION_ID`, if any. */
  version: string | undefined;
  /** The families plugins act on: `debian`, `systemd`, `alpine`, … */
  families: string[];
}

/** Options of {@linkcode convert}; the CLI's flags map one to one. */
export interface ConvertOptions {
  /** `os/arch[/variant]`; the host's by default. */
  platform?: string | Platform | undefined;
  /** Replace DEST if it exists (only after the new one is complete). */
  force?: boolean | undefined;
  /** Shift owners for an unprivileged container. */
  idmap?: IdMap | undefined;
  /** Not root: approximate ownership and devices instead of refusing. */
  allowApproximate?: boolean | undefined;
  /** Do everything but the commit: DEST is never touched. */
  dryRun?: boolean | undefined;
  /** Container name; DEST's base name by default. */
  name?: string | undefined;
  entrypoint?: string[] | undefined;
  cmd?: string[] | undefined;
  env?: string[] | undefined;
  user?: string | undefined;
  workdir?: string | undefined;
  stopSignal?: string | undefined;
  /** `HOSTDIR:PATH[:ro]` bind mounts. */
  volumes?: string[] | undefined;
  /** `--net` specs, handed to the network plugins. */
  net?: string[] | undefined;
  /** The LXC version the config is for (decides quoting and keys); the host's `lxc-start --version` by default. */
  lxcVersion?: string | undefined;
  /** `lxc` (DEST/config + DEST/rootfs) or `pve` (a Proxmox VE template and VMID.conf in the directory DEST). */
  format?: "lxc" | "pve" | undefined;
  /** Proxmox VE container id, for `format: "pve"`. */
  vmid?: number | undefined;
  /** Proxmox VE version the conf is for (`7`, `8`, `9.0`, `9.1`, or e.g. `8.4`); default 8. */
  pveVersion?: string | undefined;
  /** Plugins, in registration order; the built-ins by default. */
  plugins?: readonly Plugin<ConversionContext>[] | undefined;
  /** How to run this program from an LXC hook (argv); set by the CLI. */
  selfCommand?: readonly string[] | undefined;
  onWarning?: ((message: string) => void) | undefined;
  onProgress?: ((progress: ConversionProgress) => void) | undefined;
  /** Aborting stops the conversion at the next chunk and removes the staging directory. */
  signal?: AbortSignal | undefined;
}

/** Progress events for the CLI's live line. */
export interface ConversionProgress {
  stage: "open" | "assemble" | "plan" | "setup" | "configure" | "commit";
  layer?: number;
  layers?: number;
  bytes?: number;
  total?: number;
}

/** Extra config lines plugins add; rendered after the plan's lines, each validated. */
export interface ConfigAdditions {
  /** Add `key = value`. */
  add(key: string, value: string | number): void;
  /** Add a `# text` comment. */
  comment(text: string): void;
}

/** What a plugin hook sees. Fields fill in as the stages run. */
export interface ConversionContext {
  readonly image: Image;
  readonly options: ConvertOptions;
  /** The container directory that will exist after the commit. */
  readonly dest: string;
  /** The container name. */
  readonly name: string;
  /** The staged container directory (becomes DEST). */
  readonly stagingDir: string;
  /** Confined access to the staged rootfs. */
  readonly rootfs: RootfsAccess;
  /** From `detectDistro`. */
  distro: DistroInfo;
  /** From the plan stage; plugins' plan hooks may replace it. */
  plan: ContainerPlan;
  /** The config hook adds lines here. */
  readonly config: ConfigAdditions;
  /** Files beside the rootfs (DEST/…), e.g. generated resolv.conf; written at setup. */
  readonly files: Map<string, { data: string; mode: number }>;
  /** The report being built. */
  readonly report: ConversionReport;
  /** Record a warning (shown to the user and kept in the report). */
  warn(message: string): void;
}

/** The JSON report of a conversion (and of `--dry-run`); documented in README, kept stable. */
export interface ConversionReport {
  /** Report format version. */
  schemaVersion: 1;
  reference: string;
  dest: string;
  name: string;
  dryRun: boolean;
  image: {
    transport: string;
    refName: string | null;
    platform: string;
    manifestDigest: string;
    configDigest: string;
    layers: Array<{ index: number; digest: string; diffId: string; size: number; uncompressedSize: number }>;
    /** The archive listed layers in another order than the config's diff_ids. */
    reordered: boolean;
  };
  container: {
    kind: "app" | "system";
    argv: string[];
    env: Array<[string, string]>;
    user: { uid: number; gid: number; groups: number[]; name: string | null; home: string };
    cwd: string;
    stopSignal: string;
    network: Array<{ type: string; keys: Array<[string, string]> }>;
    mounts: Array<{ source: string; target: string; readOnly: boolean }>;
    volumes: string[];
    idmap: IdMap | null;
  };
  /** Every field of the image config: mapped, overridden, defaulted or dropped, with the reason. */
  fields: PlanField[];
  distro: DistroInfo;
  /** Plugins that took part, with the hooks they ran. */
  plugins: Array<{ name: string; hooks: string[] }>;
  warnings: string[];
  rootfs: {
    entries: number;
    files: number;
    directories: number;
    symlinks: number;
    hardlinks: number;
    devices: number;
    whiteouts: number;
  };
  /** Final paths; for a dry run, where they would be. */
  paths: { dest: string; config: string; rootfs: string };
  /** For `format: "pve"`: the files written and the commands to run on the Proxmox VE host. */
  pve?: { template: string; conf: string; include: string | null; includeTarget: string | null; steps: string[] };
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  /** Compressed bytes read from the image and bytes written to files. */
  bytesRead: number;
  bytesWritten: number;
}
