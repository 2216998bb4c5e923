/**
 * `--net` specs as Proxmox VE `netN` properties: veth on a bridge, a MAC address drawn once and written into the conf, addresses PVE
 * sets itself (9.1 `host-managed`) or, for application containers before 9.1, raw lines that make LXC set them.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import type { NetInterface } from "../network/net_spec.ts";
import type { PveConfWriter } from "./pve_conf_writer.ts";

/** The bridge of `netN` without `link=`: Proxmox VE's default (its installer makes vmbr0). */
export const PVE_DEFAULT_BRIDGE = "vmbr0";

/**
 * A random MAC address for one interface, written once into the conf so it stays the same at every start. Without
 * `hwaddr`, pve-container's `parse_lxc_network` draws a new random one each time it reads the config, and a DHCP server
 * then hands out a new lease at every boot. Random rather than derived from the vmid: standalone Proxmox VE hosts all
 * start at CT 100, and containers of two of them on one network must not share an address.
 *
 * Shaped as Proxmox's `PVE::Tools::random_ether_addr` shapes its addresses (multicast bit cleared, locally administered
 * bit set), so it passes PVE's `mac-addr` format and cannot be a vendor's address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPveHwaddr } from "./pve_net.ts";
 * assert(/^[0-9A-F][26AE](:[0-9A-F]{2}){5}$/.test(randomPveHwaddr()));
 * ```
 */
export function randomPveHwaddr(randomBytes: (length: number) => Uint8Array = defaultRandomBytes): string {
  const bytes = randomBytes(6).slice(0, 6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":");
}

function defaultRandomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** What the interface lines depend on besides the spec. */
export interface NetContext {
  native: boolean;
  isApp: boolean;
  warn: (message: string) => void;
  /** Random bytes for the MAC addresses (tests pass a fixed source). */
  randomBytes?: ((length: number) => Uint8Array) | undefined;
}

/** `netN: …` and, for apps before 9.1, the raw lines that make LXC set the addresses. */
export function netLines(w: PveConfWriter, spec: NetInterface, n: number, ctx: NetContext): void {
  const fail = (why: string): never => {
    throw new Oci2LxcError("usage", `Cannot write net${n} for Proxmox VE: ${why}`);
  };
  if (spec.type !== "veth") fail(`type=${spec.type}: Proxmox VE containers have veth interfaces on a bridge only`);
  const parts = [`name=${spec.name}`, `bridge=${spec.link ?? PVE_DEFAULT_BRIDGE}`];
  if (spec.hwaddr !== undefined) {
    if (spec.hwaddr.includes("x")) fail(`hwaddr=${spec.hwaddr}: Proxmox VE wants a full MAC address (no x)`);
    parts.push(`hwaddr=${spec.hwaddr.toUpperCase()}`);
  } else {
    parts.push(`hwaddr=${randomPveHwaddr(ctx.randomBytes)}`);
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
