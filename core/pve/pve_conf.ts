/**
 * {@linkcode ContainerPlan} → lines for `/etc/pve/lxc/VMID.conf`, the Proxmox VE container config, to add after `pct
 * create` made the container from our template.
 *
 * How PVE reads that file (pve-container `PVE/LXC/Config.pm`): `key: value` lines, values trimmed at both ends; `#`
 * lines become the container's description (percent escapes are decoded); raw `lxc.*` lines are kept only for
 * whitelisted keys (others are dropped with "unable to parse config") and passed to LXC as `key = value` at every
 * start.
 *
 * What is written, by version:
 *
 * | what | 7, 8, 9.0 | 9.1 |
 * | --- | --- | --- |
 * | command | raw `lxc.init.cmd` | `entrypoint` |
 * | environment | raw `lxc.environment` | `lxc.environment.runtime` (PVE's `env` on disk) |
 * | user, groups | `lxc.init.uid/gid/groups` in an include file | raw `lxc.init.uid/gid/groups` from pve-container 6.1.0, else the include file |
 * | working dir | `lxc.init.cwd` in an include file | raw `lxc.init.cwd` |
 * | stop signal | raw `lxc.signal.halt` | raw `lxc.signal.halt` |
 * | /dev/shm (apps) | raw `lxc.mount.entry` | PVE mounts it from pve-container 6.1.10, else raw `lxc.mount.entry` |
 * | static IPs (apps) | raw `lxc.net.N.ipv4/ipv6.*`, `flags = up` | `host-managed=1` on `netN` |
 * | MAC address | `hwaddr` on `netN`, random and written once ({@linkcode randomPveHwaddr}) | the same |
 *
 * Which pve-container a 9.1 conf may count on comes from the version text ({@linkcode parsePveTarget}): `9.1` alone
 * means the first 9.1 release (pve-container 6.0.15, November 2025), which has `entrypoint`, `env`, `host-managed` and
 * `lxc.init.cwd` but drops `lxc.init.uid/gid/groups` (checked in pve-container's git: added by c464df5, first released
 * in 6.1.0; /dev/shm for application containers by a535b4c, in 6.1.10).
 *
 * Before 9.1 the whitelist lacks `lxc.init.uid`, `gid`, `groups` and `cwd`, but has `lxc.include`, so those go into a
 * small LXC config file ({@linkcode PveConfig.include}) that the container includes from a host path. `rootfs`,
 * `memory`, `swap`, `cores` and `unprivileged` are never written: `pct create` sets them.
 *
 * Every value is checked: no control characters or line breaks reach the file, raw values are quoted for LXC's reader
 * (`encodeConfigValue`), and comments are escaped.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue, encodeConfigValue } from "../lxc/config_value.ts";
import { checkEnvForHostHooks } from "../lxc/host_hook_env.ts";
import { LxcConfigWriter } from "../lxc/lxc_config_writer.ts";
import { mountEntry } from "../lxc/mount_entry.ts";
import { parseNetSpecs } from "../network/net_spec.ts";
import type { ContainerPlan } from "../plan/container_plan.ts";
import { isHostname } from "../plan/hostname.ts";
import { PveConfWriter } from "./pve_conf_writer.ts";
import { pveInitCommand, type PveVersion } from "./pve_init_cmd.ts";
import { netLines } from "./pve_net.ts";
import {
  FIRST_PVE_CONTAINER,
  INIT_USER_KEYS,
  PVE_MOUNTS_SHM,
  pveContainerAtLeast,
  type PveContainerVersion,
} from "./pve_target.ts";

export type { PveVersion } from "./pve_init_cmd.ts";
export { randomPveHwaddr } from "./pve_net.ts";
export { parsePveTarget, parsePveVersion, type PveContainerVersion, type PveTarget } from "./pve_target.ts";

/** Options for {@linkcode renderPveConfig}. */
export interface PveConfOptions {
  /** The container id (100 to 999999999). */
  vmid: number;
  /** The Proxmox VE version the config is for. */
  pveVersion: PveVersion;
  /**
   * The lowest pve-container release the host may run (`[6, 1, 0]`); the default is the first one of `pveVersion`
   * ({@linkcode parsePveTarget}).
   */
  pveContainer?: PveContainerVersion | undefined;
  /** The template file name (`busybox.tar.zst`), for the description. */
  templateName: string;
  /** `--net` specs (`name=eth0,link=vmbr0,ip=dhcp`) instead of the plan's; none in either: no network interface. */
  net?: readonly string[] | undefined;
  /** Host path of the include file (PVE before 9.1); default {@linkcode defaultIncludePath}. */
  includePath?: string | undefined;
  /** Description lines (image reference, digest); they show as the container's notes. */
  header?: readonly string[] | undefined;
  /** Receives findings worth telling the user. */
  onWarning?: ((message: string) => void) | undefined;
  /** Lines plugins added, checked by the caller ({@linkcode pveLxcKeyProblem}): raw `lxc.*` lines, after ours. */
  extra?: readonly PveExtraLine[] | undefined;
  /** Random bytes for generated MAC addresses (tests pass a fixed source); default `crypto.getRandomValues`. */
  randomBytes?: ((length: number) => Uint8Array) | undefined;
}

/** A line a plugin added: a raw `lxc.*` key and value, or a comment (part of the container's description). */
export type PveExtraLine = { readonly key: string; readonly value: string } | { readonly comment: string };

/** The rendered files. */
export interface PveConfig {
  /** Lines for `/etc/pve/lxc/VMID.conf`. */
  readonly conf: string;
  /** An LXC config file to put at `includePath` (PVE before 9.1, when needed), else `undefined`. */
  readonly include: string | undefined;
  /** Where the conf's `lxc.include` expects `include`. */
  readonly includePath: string | undefined;
  /** The container's hostname as Proxmox VE sets it (`CTvmid` when the plan's is no DNS name). */
  readonly hostname: string;
  /** Whether the conf gives the container a network interface. */
  readonly hasNetwork: boolean;
}

/** PVE's `arch` enum. */
const PVE_ARCHES = new Set(["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]);
/** Names PVE's `env` pattern accepts (`\w+`, ASCII here). */
const ENV_NAME = /^[A-Za-z0-9_]+$/;

/** Where the include file goes by default: beside PVE's generated LXC config, removed with the container. */
export function defaultIncludePath(vmid: number): string {
  return `/var/lib/lxc/${vmid}/oci2lxc.conf`;
}

/**
 * Render the Proxmox VE config lines for `plan` (and the include file PVE before 9.1 needs for the user and working
 * directory).
 *
 * @throws {Oci2LxcError} `usage` for a bad vmid or `--net`; `config` when a plan value cannot be represented for that
 *   Proxmox VE version
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPveConfig } from "./pve_conf.ts";
 * import { makePlan } from "../plan/make_plan.ts";
 * import { directoryRootfsReader } from "../plan/rootfs_reader.ts";
 * const root = Deno.makeTempDirSync();
 * const plan = makePlan({ config: { Cmd: ["/bin/httpd", "-f"], StopSignal: "SIGQUIT" } },
 *   { os: "linux", architecture: "amd64" }, directoryRootfsReader(root), { name: "web" });
 * const { conf } = renderPveConfig(plan, { vmid: 120, pveVersion: "8", templateName: "web.tar.zst" });
 * assert(conf.includes("lxc.init.cmd: /bin/httpd -f\n"));
 * assert(conf.includes("ostype: unmanaged\n") && !conf.includes("rootfs:"));
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function renderPveConfig(plan: ContainerPlan, options: PveConfOptions): PveConfig {
  const { vmid, pveVersion: version } = options;
  if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) {
    throw new Oci2LxcError("usage", `Cannot use VMID ${vmid}: Proxmox VE container ids run from 100 to 999999999`);
  }
  const warn = options.onWarning ?? (() => {});
  const native = version === "9.1";
  const pveContainer = options.pveContainer ?? FIRST_PVE_CONTAINER[version];
  const pcText = pveContainer.join(".");
  const isApp = plan.kind === "app";
  const w = new PveConfWriter();
  const include = new LxcConfigWriter();
  const includePath = options.includePath ?? defaultIncludePath(vmid);
  if (!includePath.startsWith("/")) {
    throw new Oci2LxcError("usage", `Cannot use include path ${JSON.stringify(includePath)}: it must be absolute`);
  }

  for (const line of options.header ?? []) w.comment(line);
  const forWhat = native ? `Proxmox VE 9.1 with pve-container ${pcText} or later` : `Proxmox VE ${version}`;
  w.comment(`Template ${options.templateName}, config for ${forWhat}, written by oci2lxc`);

  // Properties.
  if (plan.arch === undefined) {
    warn("the image's architecture has no Proxmox VE name; arch is left out (Proxmox VE then assumes amd64)");
  } else if (!PVE_ARCHES.has(plan.arch)) {
    throw new Oci2LxcError(
      "config",
      `Cannot write arch ${plan.arch}: Proxmox VE runs amd64, i386, arm64, armhf, riscv32 and riscv64 containers`,
    );
  } else {
    w.option("arch", plan.arch);
  }
  w.option("ostype", "unmanaged");
  const hostname = pveHostname(plan.hostname);
  if (hostname === undefined) {
    warn(
      `the hostname ${
        JSON.stringify(plan.hostname)
      } is not a DNS name; hostname is left out (Proxmox VE uses CT${vmid})`,
    );
  } else {
    if (hostname !== plan.hostname) {
      warn(`the hostname ${plan.hostname} is written as ${hostname}, a DNS name as Proxmox VE requires`);
    }
    w.option("hostname", hostname);
  }
  if (isApp) w.option("cmode", "console");

  // The command.
  const init = pveInitCommand(plan, version);
  if (init !== undefined) {
    for (const note of init.notes) w.comment(note);
    if (init.notes.length > 0) warn(init.notes[0]!.replace(/:$/, ""));
    if (init.key === "entrypoint") w.option("entrypoint", encodeConfigValue(init.value), "the command", true);
    else w.raw("lxc.init.cmd", init.value, "the command");
  }

  // Network.
  // The plan's specs, parsed once when it was made; `net` only for callers that render a conf on its own.
  const specs = options.net === undefined ? plan.net : parseNetSpecs(options.net);
  let index = 0;
  for (const spec of specs) {
    if (spec.type === "none") continue;
    netLines(w, spec, index++, { native, isApp, warn, randomBytes: options.randomBytes });
  }

  // User and working directory.
  const { uid, gid, groups } = plan.user;
  const needsUser = uid !== 0 || gid !== 0 || groups.length > 0;
  if (native && needsUser && pveContainerAtLeast(pveContainer, INIT_USER_KEYS)) {
    w.raw("lxc.init.uid", uid);
    w.raw("lxc.init.gid", gid);
    if (groups.length > 0) w.raw("lxc.init.groups", groups.join(","));
  } else if (needsUser) {
    include.entry("lxc.init.uid", uid);
    include.entry("lxc.init.gid", gid);
    if (groups.length > 0) include.entry("lxc.init.groups", groups.join(","));
    if (native) {
      warn(
        `the command runs as ${uid}:${gid} through lxc.init.uid/gid in an include file, since pve-container ${pcText} drops those keys from ${vmid}.conf (they are accepted from 6.1.0 on); copy the include file to every node, as it is not in /etc/pve (not replicated, not in backups); with pve-container 6.1.0 or later (pveversion -v), pass --pve-version pve-container/X.Y.Z to keep them in ${vmid}.conf`,
      );
    }
  }
  if (plan.cwd !== "/") {
    if (native) w.raw("lxc.init.cwd", plan.cwd, "the working directory");
    else include.entry("lxc.init.cwd", plan.cwd, "the working directory");
  }

  // Environment.
  const hookGuard = {
    rootfsPath: `/var/lib/lxc/${vmid}/rootfs`,
    mountSources: plan.mounts.map((m) => m.source),
  };
  const hookEnv: (readonly [string, string])[] = [];
  for (const [name, value] of plan.env) {
    const entry = `${name}=${value}`;
    checkConfigValue(entry, `the environment variable ${name}`);
    // PVE 9.1 folds lxc.environment.runtime lines into its env property, whose pattern wants \w+ names, and trims each
    // line: those go in unquoted.
    if (native && ENV_NAME.test(name) && entry.trimEnd() === entry) {
      w.rawVerbatim("lxc.environment.runtime", entry);
    } else {
      hookEnv.push([name, value]);
    }
  }
  if (hookEnv.length > 0) {
    checkEnvForHostHooks(hookEnv, hookGuard);
    if (native) {
      warn(
        `${hookEnv.map(([n]) => n).join(", ")} cannot be in Proxmox VE's env property (name or trailing blank), so ${
          hookEnv.length === 1 ? "it goes" : "they go"
        } into lxc.environment, which host hooks see too`,
      );
    }
    const path = hookEnv.find(([k]) => k === "PATH")?.[1];
    if (path !== undefined && !path.split(":").some((d) => d === "/bin" || d === "/usr/bin")) {
      warn(
        `PATH (${path}) has neither /bin nor /usr/bin; LXC also gives lxc.environment to host hooks (such as lxcfs's), which may then fail`,
      );
    }
    for (const [name, value] of hookEnv) {
      w.raw("lxc.environment", `${name}=${value}`, `the environment variable ${name}`);
    }
  }

  w.raw("lxc.signal.halt", plan.stopSignal, "the stop signal");

  // Mounts. pve-container mounts /dev/shm for an entrypoint other than /sbin/init from 6.1.10 on.
  if (isApp && (!native || !pveContainerAtLeast(pveContainer, PVE_MOUNTS_SHM))) {
    w.raw("lxc.mount.entry", mountEntry("tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec,mode=1777,create=dir"));
  }
  if (isApp && plan.runTmpfs) {
    w.raw("lxc.mount.entry", mountEntry("tmpfs", "/run", "tmpfs", "rw,nosuid,nodev,mode=755,create=dir"));
  }
  for (const m of plan.mounts) {
    w.raw(
      "lxc.mount.entry",
      mountEntry(m.source, m.target, "none", `bind,create=dir${m.readOnly ? ",ro" : ""}`),
      `the volume ${m.source}:${m.target}`,
    );
  }
  for (const v of plan.volumes) {
    if (!v.bound) {
      w.comment(
        `Volume ${v.path}: add a mount point for its data, e.g. pct set ${vmid} --mp0 local-lvm:8,mp=${v.path}`,
      );
    }
  }

  let includeText: string | undefined;
  for (const line of options.extra ?? []) {
    if ("comment" in line) w.comment(line.comment);
    else w.raw(line.key, line.value, `a line from a plugin (${line.key})`);
  }

  if (include.lines.length > 0) {
    w.raw("lxc.include", includePath, "the include path");
    const head = new LxcConfigWriter();
    head.comment(
      `Included by /etc/pve/lxc/${vmid}.conf (lxc.include): settings Proxmox VE ${version} does not take itself`,
    );
    head.comment("Written by oci2lxc; copy it to every node the container may run on");
    includeText = head.toString() + include.toString();
  }
  return {
    conf: w.toString(),
    include: includeText,
    includePath: includeText === undefined ? undefined : includePath,
    hostname: hostname ?? `CT${vmid}`,
    hasNetwork: index > 0,
  };
}

/**
 * Only the `/etc/pve/lxc/VMID.conf` lines; see {@linkcode renderPveConfig} for the include file that PVE before 9.1
 * may also need.
 */
export function renderPveConf(plan: ContainerPlan, options: PveConfOptions): string {
  return renderPveConfig(plan, options).conf;
}

/** The hostname as a DNS name PVE accepts, or `undefined`. */
function pveHostname(name: string): string | undefined {
  // PVE's `dns-name` format is this rule without the lengths; the kernel's UTS name holds 64 anyway.
  if (isHostname(name)) return name;
  const fixed = name.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/\.{2,}/g, ".").replace(/(^|\.)-+|-+(\.|$)/g, "$1$2")
    .replace(/^\.+|\.+$/g, "");
  return isHostname(fixed) ? fixed : undefined;
}
