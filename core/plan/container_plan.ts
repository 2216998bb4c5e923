/**
 * The container as data: everything the LXC config needs, decided from the image config, the caller's options and a few
 * facts read from the rootfs. `makePlan` builds it, plugins may amend it, `renderLxcConfig` writes it.
 *
 * Every string in a plan made by `makePlan` has been checked: no control characters (tabs are allowed where LXC keeps
 * them) and no line breaks.
 *
 * @module
 */
import type { NetSpec } from "../network/net_spec.ts";
import type { IdMap } from "../rootfs/id_map.ts";

/** `app`: one program, LXC's minimal init as PID 1. `system`: the image's own init is PID 1. */
export type ContainerKind = "app" | "system";

/** What happened to one field of the image config. */
export type FieldStatus =
  /** The image value is used. */
  | "mapped"
  /** The image value was replaced by the caller's option. */
  | "overridden"
  /** The image value is not represented in LXC (see `reason`). */
  | "dropped"
  /** The image has no value; a default was used (see `reason`). */
  | "defaulted";

/** The fate of one image config field, for the config comments and the report. */
export interface PlanField {
  /** The field name as the image config spells it (`Env`, `Cmd`, an unknown key). */
  readonly field: string;
  readonly status: FieldStatus;
  /** The LXC key it became, if any. */
  readonly to?: string;
  /** Why, in a few words. */
  readonly reason?: string;
}

/** The identity the container's first process runs with. */
export interface PlanUser {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary group ids. */
  readonly groups: readonly number[];
  /** The passwd name, when the uid has an entry. */
  readonly name: string | undefined;
  /** The home directory (HOME unless the environment sets it). */
  readonly home: string;
}

/** A directory the assembler creates in the rootfs (it is missing there). */
export interface PlanDirectory {
  /** Absolute container path, lexically clean. */
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** Which field asked for it: `WorkingDir`, `Volumes`. */
  readonly reason: string;
}

/** One `Volumes` entry of the image. */
export interface PlanVolume {
  /** Absolute container path, lexically clean. */
  readonly path: string;
  /** Whether the path exists in the rootfs (its owner is then kept). */
  readonly exists: boolean;
  /** Whether a `--volume` bind-mounts a host directory there. */
  readonly bound: boolean;
}

/** A host directory bind-mounted into the container (`--volume HOSTDIR:PATH[:ro]`). */
export interface PlanMount {
  /** Absolute host path. */
  readonly source: string;
  /** Absolute container path, lexically clean. */
  readonly target: string;
  readonly readOnly: boolean;
}

/** One network interface; rendered as `lxc.net.N.type` and `lxc.net.N.<key>` lines. */
export interface PlanNetwork {
  /** `empty` (loopback only), `veth`, `macvlan`, `none` (the host's network), … */
  readonly type: string;
  /** Further keys after `lxc.net.N.`, e.g. `["link", "lxcbr0"]`, in order. */
  readonly keys: readonly (readonly [string, string])[];
}

/** Everything the LXC config needs, as data. */
export interface ContainerPlan {
  readonly kind: ContainerKind;
  /** The container's command, Entrypoint then Cmd, as the image (or caller) gave it. */
  readonly argv: readonly string[];
  /** Where each argv element came from, e.g. `Cmd[1] of the image config`, for messages. */
  readonly argvSources: readonly string[];
  /** The environment, in order, each name once. */
  readonly env: readonly (readonly [string, string])[];
  readonly user: PlanUser;
  /** Absolute working directory, lexically clean. */
  readonly cwd: string;
  /** The stop signal in the form `lxc.signal.halt` takes (`SIGTERM`, `SIGRTMIN+3`). */
  readonly stopSignal: string;
  /** Whether PID 1 is systemd (it wants SIGRTMIN+3 to halt). */
  readonly systemd: boolean;
  readonly volumes: readonly PlanVolume[];
  /** Directories to create in the rootfs before the first start. */
  readonly directories: readonly PlanDirectory[];
  /** Host directories to bind-mount, parents before children. */
  readonly mounts: readonly PlanMount[];
  /** The `lxc.arch` name, or `undefined` to leave it out (LXC then uses the host's). */
  readonly arch: string | undefined;
  /** The container name (`lxc-start -n`). */
  readonly name: string;
  /** The hostname (`lxc.uts.name`). */
  readonly hostname: string;
  /** The id map for an unprivileged container, or `undefined` for a privileged one. */
  readonly idmap: IdMap | undefined;
  readonly network: readonly PlanNetwork[];
  /** The `--net` specs as parsed, once: the network plugins and the Proxmox VE conf read them here. */
  readonly net: readonly NetSpec[];
  /** Whether /run should be a tmpfs (the image's /run is missing or empty). */
  readonly runTmpfs: boolean;
  /** A POSIX shell in the rootfs (`/bin/sh`), if there is one. */
  readonly shell: string | undefined;
  /** One entry for every field of the image config, known or not. */
  readonly fields: readonly PlanField[];
  /** Findings the user should see: dropped values, odd but accepted input. */
  readonly warnings: readonly string[];
}
