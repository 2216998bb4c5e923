/**
 * Debian family: /etc/network exists (with the right owner under an idmap),
 * and a system container gets /etc/network/interfaces for the chosen
 * networking, so ifupdown brings it up at boot.
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

/** Options of {@linkcode debianNetwork}. */
export interface DebianNetworkOptions {
  /** Write /etc/network/interfaces for system containers (default true). */
  writeInterfaces?: boolean;
}

/** Defaults of {@linkcode debianNetwork}. */
export const defaults = { writeInterfaces: true } satisfies DebianNetworkOptions;

/** The /etc/network/interfaces text for `interfaces`. */
export function renderInterfaces(interfaces: readonly NetInterface[]): string {
  const lines = ["# Written by oci2lxc", "auto lo", "iface lo inet loopback", ""];
  for (const i of interfaces) {
    lines.push(`auto ${i.name}`);
    if (i.ipv4.mode === "dhcp") lines.push(`iface ${i.name} inet dhcp`);
    else if (i.ipv4.mode === "static") {
      lines.push(`iface ${i.name} inet static`, `\taddress ${i.ipv4.cidr}`);
      const gw = gatewayOf(i.ipv4.gateway);
      if (gw) lines.push(`\tgateway ${gw}`);
    } else lines.push(`iface ${i.name} inet manual`);
    if (i.mtu) lines.push(`\tmtu ${i.mtu}`);
    if (i.ipv6.mode === "dhcp") lines.push(`iface ${i.name} inet6 dhcp`);
    else if (i.ipv6.mode === "auto") lines.push(`iface ${i.name} inet6 auto`);
    else if (i.ipv6.mode === "static") {
      lines.push(`iface ${i.name} inet6 static`, `\taddress ${i.ipv6.cidr}`);
      const gw = gatewayOf(i.ipv6.gateway);
      if (gw) lines.push(`\tgateway ${gw}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** The Debian network plugin. */
export function debianNetwork(options: DebianNetworkOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  return definePlugin<ConversionContext>({
    name: "debian-network",
    options: resolved,
    apply: (context) => context.distro.families.includes("debian"),
    rootfs(context) {
      context.rootfs.mkdir("/etc/network", { mode: 0o755 });
      if (!resolved.writeInterfaces || context.plan.kind !== "system") return;
      const interfaces = interfacesOf(context);
      if (interfaces.length === 0) return;
      context.rootfs.writeFile("/etc/network/interfaces", renderInterfaces(interfaces));
    },
  });
}

export default debianNetwork;
