/**
 * {@linkcode ContainerPlan} → lines for `/etc/pve/lxc/VMID.conf`, the
 * Proxmox VE container config, to add after `pct create` made the
 * container from our template.
 *
 * How PVE reads that file (pve-container `PVE/LXC/Config.pm`): `key: value`
 * lines, values trimmed at both ends; `#` lines become the container's
 * description (percent escapes are decoded); raw `lxc.*` lines are kept
 * only for whitelisted keys (others are dropped with "unable to parse
 * config") and passed to LXC as `key = value` at every start.
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
 * | MAC address | `hwaddr` on `netN`, stable ({@linkcode stableHwaddr}) | the same |
 *
 * Which pve-container a 9.1 conf may count on comes from the version text
 * ({@linkcode parsePveTarget}): `9.1` alone means the first 9.1 release
 * (pve-container 6.0.15, November 2025), which has `entrypoint`, `env`,
 * `host-managed` and `lxc.init.cwd` but drops `lxc.init.uid/gid/groups`
 * (checked in pve-container's git: added by c464df5, first released in
 * 6.1.0; /dev/shm for application containers by a535b4c, in 6.1.10).
 *
 * Before 9.1 the whitelist lacks `lxc.init.uid`, `gid`, `groups` and `cwd`,
 * but has `lxc.include`, so those go into a small LXC config file
 * ({@linkcode PveConfig.include}) that the container includes from a host
 * path. `rootfs`, `memory`, `swap`, `cores` and `unprivileged` are never
 * written: `pct create` sets them.
 *
 * Every value is checked: no control characters or line breaks reach the
 * file, raw values are quoted for LXC's reader (`encodeConfigValue`), and
 * comments are escaped.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue, encodeConfigValue, sanitiseComment } from "../lxc/config_value.ts";
import { checkEnvForHostHooks } from "../lxc/host_hook_env.ts";
import { LxcConfigWriter } from "../lxc/lxc_config_writer.ts";
import { mountEntry } from "../lxc/mount_entry.ts";
import { type NetInterface, parseNetSpecs } from "../network/net_spec.ts";
import type { ContainerPlan } from "../plan/container_plan.ts";
import { pveInitCommand, type PveVersion } from "./pve_init_cmd.ts";

export type { PveVersion } from "./pve_init_cmd.ts";

/** Options for {@linkcode renderPveConfig}. */
export interface PveConfOptions {
  /** The container id (100 to 999999999). */
  vmid: number;
  /** The Proxmox VE version the config is for. */
  pveVersion: PveVersion;
  /**
   * The lowest pve-container release the host may run (`[6, 1, 0]`); the
   * default is the first one of `pveVersion` ({@linkcode parsePveTarget}).
   */
  pveContainer?: PveContainerVersion | undefined;
  /** The template file name (`busybox.tar.zst`), for the description. */
  templateName: string;
  /** `--net` specs (`name=eth0,link=vmbr0,ip=dhcp`); none: no network interface. */
  net?: readonly string[] | undefined;
  /** Host path of the include file (PVE before 9.1); default {@linkcode defaultIncludePath}. */
  includePath?: string | undefined;
  /** Description lines (image reference, digest); they show as the container's notes. */
  header?: readonly string[] | undefined;
  /** Receives findings worth telling the user. */
  onWarning?: ((message: string) => void) | undefined;
}

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
/** PVE's `dns-name` format. */
const DNS_NAME = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
/** Names PVE's `env` pattern accepts (`\w+`, ASCII here). */
const ENV_NAME = /^[A-Za-z0-9_]+$/;
const DEFAULT_BRIDGE = "vmbr0";

/** Where the include file goes by default: beside PVE's generated LXC config, removed with the container. */
export function defaultIncludePath(vmid: number): string {
  return `/var/lib/lxc/${vmid}/oci2lxc.conf`;
}

/** A pve-container release: major, minor, patch. */
export type PveContainerVersion = readonly [number, number, number];

/** What a version text lets the config count on. */
export interface PveTarget {
  /** The Proxmox VE version, as far as the output differs. */
  readonly version: PveVersion;
  /** The lowest pve-container release a host with that version can run. */
  readonly pveContainer: PveContainerVersion;
}

/** The first pve-container of each Proxmox VE version (pve-container's "bump version" commits). */
const FIRST_PVE_CONTAINER: Readonly<Record<PveVersion, PveContainerVersion>> = {
  "7": [4, 0, 0],
  "8": [5, 0, 0],
  "9.0": [6, 0, 0],
  "9.1": [6, 0, 15],
};
/** pve-manager 9.1.12 (May 2026) and later depend on pve-container >= 6.1.6 (pve-manager commit b10c2570). */
const PVE_MANAGER_9_1_NEEDS: PveContainerVersion = [6, 1, 6];
/** pve-container releases from which a 9.1 conf may use a feature. */
const INIT_USER_KEYS: PveContainerVersion = [6, 1, 0];
const PVE_MOUNTS_SHM: PveContainerVersion = [6, 1, 10];

function atLeast(have: PveContainerVersion, want: PveContainerVersion): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * What a `--pve-version` text means: a Proxmox VE version as `pveversion`
 * prints it (`7`, `8.4`, `9.0`, `9.1`, `9.1.14`, `9.2`…), or the
 * pve-container release that `pveversion -v` lists (`pve-container/6.1.0`,
 * also `pve-container: 6.1.0`). A bare `9.1` counts on pve-container 6.0.15
 * only, the first 9.1 release; `9.1.12` and later, and `9.2` on, bring
 * 6.1.6 or later.
 *
 * @throws {Oci2LxcError} `usage` for anything else, or a version before 7
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePveTarget } from "./pve_conf.ts";
 * assert.equal(parsePveTarget("9.1").pveContainer.join("."), "6.0.15");
 * assert.equal(parsePveTarget("pve-container/6.1.10").version, "9.1");
 * ```
 */
export function parsePveTarget(text: string): PveTarget {
  const pc = /^\s*pve-container\s*[:/= ]\s*(\d+)\.(\d+)(?:[.-](\d+))?(?:[-~+][0-9A-Za-z.~+-]*)?\s*$/i.exec(text);
  if (pc) {
    const v: PveContainerVersion = [Number(pc[1]), Number(pc[2]), Number(pc[3] ?? 0)];
    if (v[0] === 4) return { version: "7", pveContainer: v };
    if (v[0] === 5) return { version: "8", pveContainer: v };
    if (v[0] >= 6) return { version: atLeast(v, FIRST_PVE_CONTAINER["9.1"]) ? "9.1" : "9.0", pveContainer: v };
  }
  const m = pc ? null : /^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(text);
  const major = m ? Number(m[1]) : NaN;
  const minor = m?.[2] === undefined ? 0 : Number(m[2]);
  const patch = m?.[3] === undefined ? 0 : Number(m[3]);
  const of = (version: PveVersion): PveTarget => ({ version, pveContainer: FIRST_PVE_CONTAINER[version] });
  if (major === 7) return of("7");
  if (major === 8) return of("8");
  if (major === 9 && minor === 0) return of("9.0");
  if (major === 9 && minor === 1 && patch < 12) return of("9.1");
  if (major >= 9) return { version: "9.1", pveContainer: PVE_MANAGER_9_1_NEEDS };
  throw new Oci2LxcError(
    "usage",
    `Cannot use Proxmox VE version ${JSON.stringify(text)}: give 7, 8, 9.0, 9.1 (or 9.1.N), or pve-container/X.Y.Z`,
    { hint: "Read it from pveversion, e.g. pve-manager/8.4.1 → --pve-version 8; pveversion -v lists pve-container" },
  );
}

/**
 * The Proxmox VE version for a version text (see {@linkcode parsePveTarget}):
 * `7`, `7.4`, `8.2`, `9`, `9.0`, `9.1`, `9.2`… (later versions behave as 9.1).
 *
 * @throws {Oci2LxcError} `usage` for anything else, or a version before 7
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePveVersion } from "./pve_conf.ts";
 * assert.equal(parsePveVersion("8.2"), "8");
 * assert.equal(parsePveVersion("9"), "9.0");
 * assert.equal(parsePveVersion("9.3"), "9.1");
 * ```
 */
export function parsePveVersion(text: string): PveVersion {
  return parsePveTarget(text).version;
}

/**
 * A MAC address for interface `index` of container `vmid` that stays the
 * same at every start and every conversion. Without `hwaddr`, pve-container's
 * `parse_lxc_network` draws a new random one each time it reads the config,
 * and a DHCP server then hands out a new lease at every boot.
 *
 * Made as Proxmox's `PVE::Tools::random_ether_addr` makes its addresses
 * (SHA-1 bytes, multicast bit cleared, locally administered bit set), from
 * the vmid and index instead of random input, so it passes PVE's `mac-addr`
 * format and cannot be a vendor's address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stableHwaddr } from "./pve_conf.ts";
 * assert.equal(stableHwaddr(120, 0), stableHwaddr(120, 0));
 * assert(/^[0-9A-F][26AE](:[0-9A-F]{2}){5}$/.test(stableHwaddr(120, 0)));
 * ```
 */
export function stableHwaddr(vmid: number, index: number): string {
  const bytes = createHash("sha1").update(`oci2lxc pve net ${vmid} ${index}`).digest();
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":");
}

/** Collects `key: value` lines in the order PVE writes them: properties sorted, then raw lxc lines. */
class PveConfWriter {
  readonly #comments: string[] = [];
  readonly #options = new Map<string, string>();
  readonly #raw: string[] = [];

  /** A `#` line: part of the container's description in PVE. */
  comment(text: string): void {
    // PVE decodes %XX in descriptions, so a literal % is written as %25.
    this.#comments.push(`#${sanitiseComment(text).replaceAll("%", "%25")}`);
  }

  /** A PVE property; PVE refuses line breaks in all and control characters in most (`entrypoint` takes tabs). */
  option(key: string, value: string, what = key, allowTab = false): void {
    checkConfigValue(value, what, "config", allowTab);
    if (value.trim() !== value || value === "") {
      throw new Oci2LxcError("config", `Cannot use ${what}: Proxmox VE trims blanks at the ends of ${key}`);
    }
    this.#options.set(key, value);
  }

  /** A raw `lxc.*` line, encoded so that LXC reads back exactly `value`. */
  raw(key: string, value: string | number, what = key): void {
    if (!/^lxc(\.[a-z0-9_-]+)+$/.test(key)) throw new TypeError(`Cannot write raw key ${sanitiseComment(key)}`);
    const text = String(value);
    checkConfigValue(text, what);
    const encoded = encodeConfigValue(text);
    this.#raw.push(encoded === "" ? `${key}:` : `${key}: ${encoded}`);
  }

  /** A raw line whose value PVE itself parses further (no quoting possible). */
  rawVerbatim(key: string, value: string): void {
    this.#raw.push(`${key}: ${value}`);
  }

  toString(): string {
    const options = [...this.#options].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}: ${v}`);
    return [...this.#comments, ...options, ...this.#raw].join("\n") + "\n";
  }
}

/**
 * Render the Proxmox VE config lines for `plan` (and the include file PVE
 * before 9.1 needs for the user and working directory).
 *
 * @throws {Oci2LxcError} `usage` for a bad vmid or `--net`; `config` when a
 *   plan value cannot be represented for that Proxmox VE version
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
  const specs = parseNetSpecs(options.net ?? []);
  let index = 0;
  for (const spec of specs) {
    if (spec.type === "none") continue;
    netLines(w, spec, index++, { native, isApp, warn, vmid });
  }

  // User and working directory.
  const { uid, gid, groups } = plan.user;
  const needsUser = uid !== 0 || gid !== 0 || groups.length > 0;
  if (native && needsUser && atLeast(pveContainer, INIT_USER_KEYS)) {
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
    // PVE 9.1 folds lxc.environment.runtime lines into its env property, whose
    // pattern wants \w+ names, and trims each line: those go in unquoted.
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

  // Mounts.
  // pve-container mounts /dev/shm for an entrypoint other than /sbin/init from 6.1.10 on.
  if (isApp && (!native || !atLeast(pveContainer, PVE_MOUNTS_SHM))) {
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
 * Only the `/etc/pve/lxc/VMID.conf` lines; see {@linkcode renderPveConfig}
 * for the include file that PVE before 9.1 may also need.
 */
export function renderPveConf(plan: ContainerPlan, options: PveConfOptions): string {
  return renderPveConfig(plan, options).conf;
}

/** The hostname as a DNS name PVE accepts, or `undefined`. */
function pveHostname(name: string): string | undefined {
  if (DNS_NAME.test(name) && name.length <= 255) return name;
  const fixed = name.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/\.{2,}/g, ".").replace(/(^|\.)-+|-+(\.|$)/g, "$1$2")
    .replace(/^\.+|\.+$/g, "");
  return DNS_NAME.test(fixed) && fixed.length <= 255 ? fixed : undefined;
}

interface NetContext {
  vmid: number;
  native: boolean;
  isApp: boolean;
  warn: (message: string) => void;
}

/** `netN: …` and, for apps before 9.1, the raw lines that make LXC set the addresses. */
function netLines(w: PveConfWriter, spec: NetInterface, n: number, ctx: NetContext): void {
  const fail = (why: string): never => {
    throw new Oci2LxcError("usage", `Cannot write net${n} for Proxmox VE: ${why}`);
  };
  if (spec.type !== "veth") fail(`type=${spec.type}: Proxmox VE containers have veth interfaces on a bridge only`);
  const parts = [`name=${spec.name}`, `bridge=${spec.link ?? DEFAULT_BRIDGE}`];
  if (spec.hwaddr !== undefined) {
    if (spec.hwaddr.includes("x")) fail(`hwaddr=${spec.hwaddr}: Proxmox VE wants a full MAC address (no x)`);
    parts.push(`hwaddr=${spec.hwaddr.toUpperCase()}`);
  } else {
    parts.push(`hwaddr=${stableHwaddr(ctx.vmid, n)}`);
  }
  const v4 = spec.ipv4;
  if (v4.mode === "dhcp") parts.push("ip=dhcp");
  else if (v4.mode === "static") {
    parts.push(`ip=${v4.cidr}`);
    if (v4.gateway === "auto") fail("gw=auto: give the gateway's address");
    if (v4.gateway !== undefined) parts.push(`gw=${v4.gateway}`);
  }
  const v6 = spec.ipv6;
  if (v6.mode === "dhcp") parts.push("ip6=dhcp");
  else if (v6.mode === "static") {
    parts.push(`ip6=${v6.cidr}`);
    if (v6.gateway === "auto") fail("gw6=auto: give the gateway's address");
    if (v6.gateway !== undefined) parts.push(`gw6=${v6.gateway}`);
  }
  if (spec.mtu !== undefined) parts.push(`mtu=${spec.mtu}`);
  if (ctx.isApp && ctx.native) parts.push("host-managed=1");
  w.option(`net${n}`, parts.join(","));

  if (!ctx.isApp || ctx.native) return;
  // Before 9.1 PVE configures addresses only through the distro's files, which an
  // unmanaged container does not get; LXC sets these before the command starts.
  if (v4.mode === "static") {
    w.raw(`lxc.net.${n}.ipv4.address`, v4.cidr);
    if (v4.gateway !== undefined) w.raw(`lxc.net.${n}.ipv4.gateway`, v4.gateway);
  }
  if (v6.mode === "static") {
    w.raw(`lxc.net.${n}.ipv6.address`, v6.cidr);
    if (v6.gateway !== undefined) w.raw(`lxc.net.${n}.ipv6.gateway`, v6.gateway);
  }
  w.raw(`lxc.net.${n}.flags`, "up");
  if (v4.mode === "dhcp" || v6.mode === "dhcp") {
    ctx.warn(
      `net${n} asks for DHCP, but no DHCP client runs in an application container on Proxmox VE before 9.1; give a static ip= (and gw=), or target 9.1`,
    );
  }
}
