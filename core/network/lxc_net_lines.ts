/**
 * Network specs → the LXC config lines that make them, in order.
 *
 * What LXC does and what we do (checked on LXC 5.0.2):
 * - Every interface: `type`, `link`, `name`, `flags = up`, `hwaddr`, `mtu` (`macvlan.mode = bridge` for macvlan). A
 *   fixed random hwaddr is written when none is given: LXC would pick a new one at every start, and a DHCP server would
 *   then hand out a new lease each time.
 * - App containers with static addresses: `ipv4.address`/`ipv4.gateway` and `ipv6.address`/`ipv6.gateway`; LXC sets
 *   them in the container's network namespace before the app starts.
 * - System containers: no addresses from LXC; the distro's own network configuration (written by a distro plugin from
 *   the same specs) does it.
 * - App containers with DHCP: LXC has no DHCP client, so two hooks run oci2lxc on the host. `lxc.hook.start-host` runs
 *   after the network is set up and before the container's init is executed, in the host's namespaces, with `LXC_PID`
 *   set: `oci2lxc hook dhcp start` starts a client inside the container's network namespace and waits for the first
 *   lease. `lxc.hook.stop` ends the clients. LXC 5.0.2 deletes the veth *before* running `stop` and `post-stop` hooks,
 *   so no DHCPRELEASE can be sent at stop; the lease is kept by the server until it expires, and the fixed hwaddr makes
 *   the next start get the same address. DHCP's DNS servers reach the container through DEST/network/resolv.conf,
 *   bind-mounted over /etc/resolv.conf (never written through the rootfs).
 * - `--net none`: `type = empty`, loopback only.
 *
 * LXC runs a hook value as `/bin/sh -c "exec VALUE NAME lxc HOOKTYPE [NS…]"` (checked: quoted words with spaces reach
 * the program as one argument), so every word is single-quoted for sh when it needs it, and the value ends with `--` so
 * that what LXC appends is never read as an option.
 *
 * @module
 */
import type { ContainerKind } from "../plan/container_plan.ts";
import { Oci2LxcError } from "../errors.ts";
import { mountEntry } from "../lxc/mount_entry.ts";
import type { NetInterface, NetSpec } from "./net_spec.ts";
import { networkPaths } from "./network_dir.ts";

/** Default seconds the start hook waits for the first lease. */
const DEFAULT_DHCP_TIMEOUT_SECONDS = 10;

/** Options for {@linkcode lxcNetLines}. */
export interface LxcNetLinesOptions {
  /** `app`: LXC or our hook configures addresses. `system`: the distro does. */
  kind: ContainerKind;
  /** The container directory DEST (absolute); DHCP state lives in DEST/network. */
  dest: string;
  /**
   * The argv that runs oci2lxc on the host, for the DHCP hooks: the compiled binary (`["/usr/local/bin/oci2lxc"]`) or
   * `["/usr/bin/deno", "run", "-A", "/opt/oci2lxc/main.ts"]`. Needed only when an app container asks for DHCP.
   */
  self?: readonly string[];
  /** Seconds the start hook waits for the first lease (default 10; 0: do not wait). */
  dhcpTimeoutSeconds?: number;
  /** Random bytes for generated MAC addresses (tests pass a fixed source). */
  randomBytes?: (length: number) => Uint8Array;
}

/** One config line as key and value (the writer quotes and checks values). */
export type LxcLine = readonly [key: string, value: string];

/**
 * Quote one word for `sh -c`: as is when it holds only characters no shell treats specially, else in single quotes (a
 * `'` becomes `'\''`).
 */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function randomHwaddr(randomBytes: (length: number) => Uint8Array): string {
  // 00:16:3e is the prefix LXC's own templates use for container MACs.
  const b = randomBytes(3);
  return ["00", "16", "3e", ...Array.from(b.subarray(0, 3), (x) => x.toString(16).padStart(2, "0"))].join(":");
}

function defaultRandomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function interfaceLines(
  i: number,
  net: NetInterface,
  kind: ContainerKind,
  hwaddr: string,
): LxcLine[] {
  const p = `lxc.net.${i}`;
  const lines: LxcLine[] = [[`${p}.type`, net.type]];
  if (net.link !== undefined) lines.push([`${p}.link`, net.link]);
  if (net.type === "macvlan") lines.push([`${p}.macvlan.mode`, "bridge"]);
  lines.push([`${p}.name`, net.name], [`${p}.flags`, "up"], [`${p}.hwaddr`, hwaddr]);
  if (net.mtu !== undefined) lines.push([`${p}.mtu`, String(net.mtu)]);
  if (kind === "app") {
    if (net.ipv4.mode === "static") {
      lines.push([`${p}.ipv4.address`, net.ipv4.cidr]);
      if (net.ipv4.gateway !== undefined) lines.push([`${p}.ipv4.gateway`, net.ipv4.gateway]);
    }
    if (net.ipv6.mode === "static") {
      lines.push([`${p}.ipv6.address`, net.ipv6.cidr]);
      if (net.ipv6.gateway !== undefined) lines.push([`${p}.ipv6.gateway`, net.ipv6.gateway]);
    }
  }
  return lines;
}

/**
 * The argv of the DHCP start hook after `self`, as LXC will run it (without what LXC appends). Exported for tests and
 * for the report.
 */
export function dhcpHookArgs(
  action: "start" | "stop",
  specs: readonly NetSpec[],
  dest: string,
  timeoutSeconds: number,
): string[] {
  const args = ["hook", "dhcp", action, "--dir", dest];
  if (action === "start") {
    for (const s of specs) {
      if (s.type === "none") continue;
      if (s.ipv4.mode === "dhcp") args.push("--v4", s.name);
      if (s.ipv6.mode === "dhcp") args.push("--v6", s.name);
      if (s.mtu !== undefined && (s.ipv4.mode === "dhcp" || s.ipv6.mode === "dhcp")) args.push("--keep-mtu", s.name);
    }
    args.push("--timeout", String(timeoutSeconds));
  }
  args.push("--");
  return args;
}

/**
 * The LXC config lines for `specs`, in the order they should be written. An empty `specs` gives no lines (the caller
 * decides what no `--net` means); `[none]` gives `lxc.net.0.type = empty`.
 *
 * @example Static address for an app container
 * ```ts
 * import assert from "node:assert/strict";
 * import { lxcNetLines } from "./lxc_net_lines.ts";
 * import { parseNetSpecs } from "./net_spec.ts";
 * const lines = lxcNetLines(parseNetSpecs(["link=br0,ip=10.0.3.5/24,gw=10.0.3.1,hwaddr=00:16:3e:00:00:01"]), {
 *   kind: "app",
 *   dest: "/var/lib/lxc/web",
 * });
 * assert(lines.some(([k, v]) => k === "lxc.net.0.ipv4.address" && v === "10.0.3.5/24"));
 * ```
 */
export function lxcNetLines(specs: readonly NetSpec[], options: LxcNetLinesOptions): LxcLine[] {
  if (!options.dest.startsWith("/")) {
    throw new Oci2LxcError(
      "usage",
      `Cannot write network hooks for ${
        JSON.stringify(options.dest)
      }: the container directory must be an absolute path`,
    );
  }
  const randomBytes = options.randomBytes ?? defaultRandomBytes;
  const lines: LxcLine[] = [];
  specs.forEach((spec, i) => {
    if (spec.type === "none") {
      lines.push([`lxc.net.${i}.type`, "empty"]);
      return;
    }
    lines.push(...interfaceLines(i, spec, options.kind, spec.hwaddr ?? randomHwaddr(randomBytes)));
  });

  const dhcp = options.kind === "app" &&
    specs.some((s) => s.type !== "none" && (s.ipv4.mode === "dhcp" || s.ipv6.mode === "dhcp"));
  if (!dhcp) return lines;

  const self = options.self;
  if (!self || self.length === 0) {
    throw new TypeError("Cannot write DHCP hooks: options.self (the argv that runs oci2lxc) is missing");
  }
  const timeout = options.dhcpTimeoutSeconds ?? DEFAULT_DHCP_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 300) {
    throw new Oci2LxcError("usage", `Cannot use a DHCP timeout of ${timeout} s: give whole seconds from 0 to 300`);
  }
  const command = (action: "start" | "stop") =>
    [...self, ...dhcpHookArgs(action, specs, options.dest, timeout)].map(shellWord).join(" ");
  lines.push(
    ["lxc.hook.start-host", command("start")],
    ["lxc.hook.stop", command("stop")],
    [
      "lxc.mount.entry",
      mountEntry(networkPaths(options.dest).resolvConf, "/etc/resolv.conf", "none", "bind,create=file"),
    ],
  );
  return lines;
}
