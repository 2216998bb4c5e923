/**
 * systemd: /etc/systemd/network and /etc/systemd/system-preset exist, and a system container gets a `.network` file per
 * interface for systemd-networkd plus a preset that enables it, unless the image already manages the interface with
 * ifupdown (Debian with /etc/network/interfaces).
 *
 * | hook   | kind       | runs after                  | runs before   |
 * | ------ | ---------- | --------------------------- | ------------- |
 * | rootfs | sequential | detectDistro, plan, network | config render |
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import { definePlugin, type Plugin } from "../core/plugin.ts";
import type { NetInterface } from "../core/network/net_spec.ts";
import { gatewayOf, interfacesOf } from "./network_interfaces.ts";

/** Options of {@linkcode systemdNetwork}. */
export interface SystemdNetworkOptions {
  /** Name of the preset file written to /etc/systemd/system-preset. */
  presetFile?: string;
}

/** Defaults of {@linkcode systemdNetwork}. */
export const defaults = { presetFile: "10-oci2lxc.preset" } satisfies SystemdNetworkOptions;

/** The systemd-networkd `.network` file for one interface. */
export function renderNetworkFile(i: NetInterface): string {
  const lines = ["# Written by oci2lxc", "[Match]", `Name=${i.name}`, "", "[Network]"];
  const v4 = i.ipv4.mode === "dhcp";
  const v6 = i.ipv6.mode === "dhcp";
  if (v4 || v6) lines.push(`DHCP=${v4 && v6 ? "yes" : v4 ? "ipv4" : "ipv6"}`);
  if (i.ipv4.mode === "static") {
    lines.push(`Address=${i.ipv4.cidr}`);
    const gw = gatewayOf(i.ipv4.gateway);
    if (gw) lines.push(`Gateway=${gw}`);
  }
  if (i.ipv6.mode === "static") {
    lines.push(`Address=${i.ipv6.cidr}`);
    const gw = gatewayOf(i.ipv6.gateway);
    if (gw) lines.push(`Gateway=${gw}`);
  }
  lines.push(`IPv6AcceptRA=${i.ipv6.mode === "auto" || v6 ? "yes" : "no"}`);
  if (i.mtu) lines.push("", "[Link]", `MTUBytes=${i.mtu}`);
  return `${lines.join("\n")}\n`;
}

/** The systemd network plugin. */
export function systemdNetwork(options: SystemdNetworkOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  return definePlugin<ConversionContext>({
    name: "systemd-network",
    options: resolved,
    apply: (context) => context.distro.families.includes("systemd"),
    rootfs(context) {
      context.rootfs.mkdir("/etc/systemd/network", { mode: 0o755 });
      context.rootfs.mkdir("/etc/systemd/system-preset", { mode: 0o755 });
      if (context.plan.kind !== "system") return;
      const interfaces = interfacesOf(context);
      if (interfaces.length === 0) return;
      // ifupdown already owns the interfaces on Debian when it is installed.
      if (context.distro.families.includes("debian") && context.rootfs.exists("/sbin/ifup")) return;
      for (const i of interfaces) {
        context.rootfs.writeFile(`/etc/systemd/network/50-oci2lxc-${i.name}.network`, renderNetworkFile(i));
      }
      context.rootfs.writeFile(
        `/etc/systemd/system-preset/${resolved.presetFile}`,
        "# Written by oci2lxc\nenable systemd-networkd.service\nenable systemd-networkd.socket\n",
      );
      // Presets apply only on a first boot (empty machine-id); enable it now as well.
      const unit = ["/lib/systemd/system/systemd-networkd.service", "/usr/lib/systemd/system/systemd-networkd.service"]
        .find((p) => context.rootfs.exists(p));
      if (unit) {
        context.rootfs.mkdir("/etc/systemd/system/multi-user.target.wants");
        context.rootfs.symlink(unit, "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service");
      } else {
        context.warn("systemd-networkd is not installed in the image: the .network files take effect only if it is");
      }
    },
  });
}

export default systemdNetwork;
