/**
 * The data a conversion carries from stage to stage: the options it was
 * given, the context plugins see, and the report it produces.
 *
 * @module
 */
import type { Image } from "./image/image.ts";
import type { Platform } from "./image/platform.ts";
import type { RegistryOptions } from "./open.ts";
import type { ContainerPlan, PlanField } from "./plan/container_plan.ts";
import type { StageName } from "./pipeline/stage_names.ts";
import type { Plugin } from "./plugin.ts";
import type { IdMap } from "./rootfs/id_map.ts";
import type { RootfsAccess } from "./rootfs/rootfs_access.ts";
import type { Staging } from "./rootfs/staging.ts";

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

/**
 * What a conversion writes, chosen by a writer at the commit (`core/output/`): `lxc`, an LXC container directory
 * (DEST/config, DEST/rootfs and the files plugins put beside it); `pve`, a Proxmox VE template and `VMID.conf` in
 * the directory DEST. Every stage and hook runs the same for both.
 */
export type OutputFormat = "lxc" | "pve";

/** Options of {@linkcode convert}; the CLI's flags map one to one. */
export interface ConvertOptions {
  /** `os/arch[/variant]`; the host's by default. */
  platform?: string | Platform | undefined;
  /** For `docker://` references: credentials and TLS (the CLI's registry options). */
  registry?: RegistryOptions | undefined;
  /** Replace DEST if it exists (only after the new one is complete, and only if it looks like a container). */
  force?: boolean | undefined;
  /** With `force`: also replace a DEST that does not look like a container (no config or rootfs in it). */
  replaceAny?: boolean | undefined;
  /** Wait for another conversion into the same DEST to end instead of failing at once. */
  wait?: boolean | undefined;
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
  format?: OutputFormat | undefined;
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
  /**
   * How the staged container (config, rootfs and `oci2lxc.json` written) takes DEST's place instead of the plain
   * replace: set by `oci2lxc update` (core/update/), whose generation swap carries the volume data and the user's
   * config edits across and keeps the old generation. LXC output only.
   */
  swapIn?: ((staging: Staging, context: ConversionContext) => Promise<void>) | undefined;
  /**
   * `format: "pve"`: an existing `NAME.tar.zst` in DEST may be replaced without `force` (its other files may not): set
   * by `oci2lxc update`, whose new template takes the place of the one the old container was made from.
   */
  replaceTemplate?: boolean | undefined;
}

/**
 * Progress events for the CLI's live line: one as each stage begins, and
 * during `assemble` one every megabyte or so and at each layer's end.
 */
export interface ConversionProgress {
  stage: StageName;
  /** The layer being applied, from 1. */
  layer?: number;
  layers?: number;
  /** Compressed bytes of this layer read so far. */
  bytes?: number;
  /** Compressed size of this layer. */
  total?: number;
  /** Compressed bytes of all layers read so far. */
  allBytes?: number;
  /** Compressed size of all layers. */
  allTotal?: number;
}

/**
 * Extra config lines plugins add; rendered after the plan's lines, each validated as it is added (so an error
 * names the plugin). With `--format pve` a line becomes a raw `lxc.*` line of the Proxmox VE conf, and a key
 * Proxmox VE would not accept is refused.
 */
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
  /** What the conversion writes (`lxc` or `pve`); a plugin may skip what only one format can use. */
  readonly format: OutputFormat;
  /** The staged container directory (becomes DEST for LXC output; the template's source for Proxmox VE). */
  readonly stagingDir: string;
  /** Confined access to the staged rootfs. */
  readonly rootfs: RootfsAccess;
  /** From `detectDistro`. */
  distro: DistroInfo;
  /** From the plan stage; plugins' plan hooks may replace it. */
  plan: ContainerPlan;
  /** The config hook adds lines here. */
  readonly config: ConfigAdditions;
  /**
   * Files beside the rootfs (DEST/…), e.g. generated resolv.conf; written at the commit. Checked as they are set
   * (a relative path, not `rootfs` or `config`); with `--format pve` refused, as a template has nothing beside it.
   */
  readonly files: Map<string, { data: string; mode: number }>;
  /** The report being built. */
  readonly report: ConversionReport;
  /** Record a warning (shown to the user and kept in the report). */
  warn(message: string): void;
}

/**
 * The JSON report of a conversion (and of `--dry-run`, where nothing is
 * written but every stage up to the commit runs). Documented in README and
 * in docs/report.schema.json; kept stable: fields are only ever added, with
 * `schemaVersion` raised when a field changes meaning.
 */
export interface ConversionReport {
  /** Report format version; 1 for this shape. */
  schemaVersion: 1;
  /** The image reference as given (`oci-archive:x.tar`, a bare path, …). */
  reference: string;
  /** Absolute path of the container directory (for `inspect --plan`: the container name). */
  dest: string;
  /** The container name (`lxc-start -n`), DEST's base name unless `--name` said otherwise. */
  name: string;
  /** True for `--dry-run` and `inspect --plan`: DEST was not touched. */
  dryRun: boolean;
  /** The image that was converted: platform and every digest. */
  image: {
    /** How the image was read: `oci-archive`, `docker-archive`, `oci` (layout directory). */
    transport: string;
    /** The reference name inside the archive (a tag or `repo:tag`), or null when it has none. */
    refName: string | null;
    /** The selected platform, `os/arch[/variant]`. */
    platform: string;
    /** Digest of the manifest (for a legacy docker-archive, the digest we computed of its config). */
    manifestDigest: string;
    /** Digest of the image config; the image ID. */
    configDigest: string;
    /** The layers in the order applied: blob digest and compressed size, diff_id and tar size. */
    layers: Array<{ index: number; digest: string; diffId: string; size: number; uncompressedSize: number }>;
    /** The archive listed layers in another order than the config's diff_ids. */
    reordered: boolean;
  };
  /** The container as it will start: the plan after plugins amended it. */
  container: {
    /** `app`: LXC's init runs the image's command; `system`: the image's own init is PID 1. */
    kind: "app" | "system";
    /** The command (Entrypoint then Cmd, or the overrides). */
    argv: string[];
    /** The environment, in order, each name once. */
    env: Array<[string, string]>;
    /** Who the command runs as (uid/gid inside the container). */
    user: { uid: number; gid: number; groups: number[]; name: string | null; home: string };
    /** Working directory. */
    cwd: string;
    /** The signal `lxc-stop` sends (`lxc.signal.halt`). */
    stopSignal: string;
    /** Network interfaces: `lxc.net.N.type` and the further `lxc.net.N.*` keys. */
    network: Array<{ type: string; keys: Array<[string, string]> }>;
    /** Host directories bind-mounted (`--volume`). */
    mounts: Array<{ source: string; target: string; readOnly: boolean }>;
    /** The image's Volumes (container paths). */
    volumes: string[];
    /** The id map of an unprivileged container, or null for a privileged one. */
    idmap: IdMap | null;
  };
  /** Every field of the image config: mapped, overridden, defaulted or dropped, with the reason. */
  fields: PlanField[];
  /** What the distro plugins found in the rootfs. */
  distro: DistroInfo;
  /** Plugins that took part, with the hooks they ran. */
  plugins: Array<{ name: string; hooks: string[] }>;
  /** Everything the user was warned about, in order. */
  warnings: string[];
  /** What the layers put in the rootfs. */
  rootfs: {
    /** Tar entries applied, of every kind. */
    entries: number;
    files: number;
    /** Bytes of regular file content written. */
    bytes: number;
    directories: number;
    symlinks: number;
    hardlinks: number;
    devices: number;
    /** Whiteout entries (deletions of lower-layer content). */
    whiteouts: number;
  };
  /** Final paths; for a dry run, where they would be. */
  paths: { dest: string; config: string; rootfs: string };
  /**
   * Only for `format: "pve"` (Proxmox VE): the template and `.conf` files
   * written, the LXC include file and where it goes, and the commands to run
   * on the Proxmox VE host.
   */
  pve?: { template: string; conf: string; include: string | null; includeTarget: string | null; steps: string[] };
  /** Milliseconds per stage (the names of `STAGE_NAMES`; `report` and `total` once the report hooks ran). */
  timings: Record<string, number>;
  /** Compressed bytes read from the image's layers. */
  bytesRead: number;
  /** Bytes of file content written into the rootfs. */
  bytesWritten: number;
  /**
   * Where the layers were read, hashed and decompressed: in a worker on a
   * second core while this thread wrote the files, or on this thread alone
   * (images under 8 MiB of layers, or a bundle that does not allow it).
   */
  layerReader: "worker" | "thread";
}
