/**
 * `--net` specs as Proxmox VE `netN` properties: veth on a bridge, a MAC address that stays the same, addresses PVE
 * sets itself (9.1 `host-managed`) or, for application containers before 9.1, raw lines that make LXC set them.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Oci2LxcError } from "../errors.ts";
import type { NetInterface } from "../network/net_spec.ts";
import type { PveConfWriter } from "./pve_conf_writer.ts";

const DEFAULT_BRIDGE = "vmbr0";

/**
 * A MAC address for interface `index` of container `vmid` that stays the same at every start and every conversion.
 * Without `hwaddr`, pve-container's `parse_lxc_network` draws a new random one each time it reads the config, and a
 * DHCP server then hands out a new lease at every boot.
 *
 * Made as Proxmox's `PVE::Tools::random_ether_addr` makes its addresses (SHA-1 bytes, multicast bit cleared, locally
 * administered bit set), from the vmid and index instead of random input, so it passes PVE's `mac-addr` format and
 * cannot be a vendor's address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stableHwaddr } from "./pve_net.ts";
 * assert.equal(stableHwaddr(120, 0), stableHwaddr(120, 0));
 * assert(/^[0-9A-F][26AE](:[0-9A-F]{2}){5}$/.test(stableHwaddr(120, 0)));
 * ```
 */
export function stableHwaddr(vmid: number, index: number): string {
  const bytes = createHash("sha1").update(`oci2lxc pve net ${vmid} ${index}`).digest();
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":");
}

/** What the interface lines depend on besides the spec. */
export interface NetContext {
  vmid: number;
  native: boolean;
  isApp: boolean;
  warn: (message: string) => void;
}

/** `netN: …` and, for apps before 9.1, the raw lines that make LXC set the addresses. */
export function netLines(w: PveConfWriter, spec: NetInterface, n: number, ctx: NetContext): void {
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
  const v6 = spec.ipv6;
  // PVE's `ip`/`gw` and `ip6`/`gw6` take the same forms.
  for (const [ip, gw, family] of [["ip", "gw", v4], ["ip6", "gw6", v6]] as const) {
    if (family.mode === "dhcp") parts.push(`${ip}=dhcp`);
    else if (family.mode === "static") {
      parts.push(`${ip}=${family.cidr}`);
      if (family.gateway === "auto") fail(`${gw}=auto: give the gateway's address`);
      if (family.gateway !== undefined) parts.push(`${gw}=${family.gateway}`);
    }
  }
  if (spec.mtu !== undefined) parts.push(`mtu=${spec.mtu}`);
  if (ctx.isApp && ctx.native) parts.push("host-managed=1");
  w.option(`net${n}`, parts.join(","));

  if (!ctx.isApp || ctx.native) return;
  // Before 9.1 PVE configures addresses only through the distro's files, which an unmanaged container does not get; LXC
  // sets these before the command starts.
  for (const [key, family] of [["ipv4", v4], ["ipv6", v6]] as const) {
    if (family.mode !== "static") continue;
    w.raw(`lxc.net.${n}.${key}.address`, family.cidr);
    if (family.gateway !== undefined) w.raw(`lxc.net.${n}.${key}.gateway`, family.gateway);
  }
  w.raw(`lxc.net.${n}.flags`, "up");
  if (v4.mode === "dhcp" || v6.mode === "dhcp") {
    ctx.warn(
      `net${n} asks for DHCP, but no DHCP client runs in an application container on Proxmox VE before 9.1; give a static ip= (and gw=), or target 9.1`,
    );
  }
}
