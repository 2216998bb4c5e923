/**
 * Debian family: /etc/network exists (with the right owner under an idmap), and a system container gets
 * /etc/network/interfaces for the chosen networking, so ifupdown brings it up at boot. A sysvinit system container
 * stopped by SIGPWR (LXC's halt signal for a non-systemd init) gets an inittab entry that halts on it: Debian's own
 * power entries run /etc/init.d/powerfail, which no longer exists, so `lxc-stop` would wait for its timeout and kill
 * the container. LXC's Debian template and Proxmox's Debian setup write the same `p0::powerfail:/sbin/init 0`.
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
  /** Make a sysvinit /etc/inittab halt on SIGPWR when that is the stop signal (default true). */
  haltOnPowerfail?: boolean;
}

/** Defaults of {@linkcode debianNetwork}. */
export const defaults = { writeInterfaces: true, haltOnPowerfail: true } satisfies DebianNetworkOptions;

const POWER_ACTIONS = new Set(["powerwait", "powerfail", "powerfailnow", "powerokwait"]);

/** An inittab entry `id:runlevels:action:process`, or undefined for a comment or blank line. */
function inittabEntry(line: string): { id: string; action: string; process: string } | undefined {
  const m = /^([^:#\s][^:]*|):([^:]*):([^:]*):(.*)$/.exec(line.trim());
  return m ? { id: m[1]!, action: m[3]!, process: m[4]!.trim() } : undefined;
}

/**
 * The sysvinit inittab `text` changed so that SIGPWR halts: other power entries are commented out (there is no UPS in a
 * container; SIGPWR means "stop") and `p0::powerfail:/sbin/init 0` is added. `undefined` when nothing needs to change:
 * the entry is there, or the file is not sysvinit's (busybox's inittab has no `initdefault` and no power actions).
 *
 * @example Debian's inittab
 * ```ts
 * import assert from "node:assert/strict";
 * import { haltOnPowerfail } from "./distro_debian.ts";
 * const out = haltOnPowerfail("id:2:initdefault:\npf::powerwait:/etc/init.d/powerfail start\n");
 * assert(out?.includes("#pf::powerwait:") && out.endsWith("p0::powerfail:/sbin/init 0\n"));
 * assert.equal(haltOnPowerfail(out!), undefined);
 * assert.equal(haltOnPowerfail("::sysinit:/etc/init.d/rcS\n"), undefined);
 * ```
 */
export function haltOnPowerfail(text: string): string | undefined {
  const lines = text.split("\n");
  const entries = lines.map(inittabEntry);
  if (!entries.some((e) => e?.action === "initdefault")) return undefined;
  if (entries.some((e) => e?.action === "powerfail" && /^\/sbin\/init\s+0$/.test(e.process))) return undefined;
  const out = lines.map((line, i) => POWER_ACTIONS.has(entries[i]?.action ?? "") ? `#${line}` : line);
  // Ids must be unique; "p0" is what LXC's template and Proxmox use.
  const id = entries.some((e) => e?.id === "p0" && !POWER_ACTIONS.has(e.action)) ? "p9" : "p0";
  if (out[out.length - 1] === "") out.pop();
  out.push("# oci2lxc: LXC stops the container with SIGPWR; halt on it", `${id}::powerfail:/sbin/init 0`, "");
  return out.join("\n");
}

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
      if (context.plan.kind !== "system") return;
      if (resolved.haltOnPowerfail && context.plan.stopSignal === "SIGPWR") {
        const inittab = context.rootfs.readText("/etc/inittab");
        const changed = inittab === undefined ? undefined : haltOnPowerfail(inittab);
        if (changed !== undefined) context.rootfs.writeFile("/etc/inittab", changed);
      }
      if (!resolved.writeInterfaces) return;
      const interfaces = interfacesOf(context);
      if (interfaces.length === 0) return;
      context.rootfs.writeFile("/etc/network/interfaces", renderInterfaces(interfaces));
    },
  });
}

export default debianNetwork;
