/**
 * systemd: /etc/systemd/network and /etc/systemd/system-preset exist, and a
 * system container gets a `.network` file per interface for
 * systemd-networkd plus a preset that enables it, unless the image already
 * manages the interface with ifupdown (Debian with /etc/network/interfaces).
 * A system container also gets a machine-id of its own when the image
 * carries one (see {@linkcode freshMachineId}). An interface with a static
 * address and no DHCP gets the host's DNS servers as `DNS=` (the rule app
 * containers with a static network follow, and Proxmox VE's default), which
 * systemd-resolved uses; a DHCP interface uses the servers of its lease.
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
import { parseIpv4, parseIpv6 } from "../core/network/ip_address.ts";
import { filterResolvConf } from "./hosts_files.ts";
import { gatewayOf, interfacesOf } from "./network_interfaces.ts";

/** Options of {@linkcode systemdNetwork}. */
export interface SystemdNetworkOptions {
  /** Name of the preset file written to /etc/systemd/system-preset. */
  presetFile?: string;
  /** Host resolv.conf whose name servers a static interface gets (loopback ones are dropped). */
  hostResolvConf?: string;
}

/** Defaults of {@linkcode systemdNetwork}. */
export const defaults = {
  presetFile: "10-oci2lxc.preset",
  hostResolvConf: "/etc/resolv.conf",
} satisfies SystemdNetworkOptions;

/**
 * The name servers of a resolv.conf text that mean something inside a
 * container: no loopback ones, no link-local ones with the host's `%scope`,
 * nothing that is not an address.
 */
export function nameserversOf(text: string): string[] {
  return filterResolvConf(text).split("\n")
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((a): a is string => a !== undefined && (parseIpv4(a) !== undefined || parseIpv6(a) !== undefined));
}

/** Whether an interface has a static address and no DHCP, whose lease would name its own servers. */
function takesHostDns(i: NetInterface): boolean {
  return (i.ipv4.mode === "static" || i.ipv6.mode === "static") && i.ipv4.mode !== "dhcp" && i.ipv6.mode !== "dhcp";
}

/**
 * The systemd-networkd `.network` file for one interface; `dns` is used
 * only when the interface has a static address and no DHCP.
 */
export function renderNetworkFile(i: NetInterface, dns: readonly string[] = []): string {
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
  if (takesHostDns(i)) { for (const server of dns) lines.push(`DNS=${server}`); }
  lines.push(`IPv6AcceptRA=${i.ipv6.mode === "auto" || v6 ? "yes" : "no"}`);
  // The container's name is the converter's (lxc.uts.name, /etc/hostname), and a static hostname makes a DHCP
  // one unused anyway; without this networkd still asks hostnamed to set it, which a minimal image (no polkit)
  // denies with a warning at every lease (seen booting Debian bookworm).
  if (v4) lines.push("", "[DHCPv4]", "UseHostname=no");
  if (i.mtu) lines.push("", "[Link]", `MTUBytes=${i.mtu}`);
  return `${lines.join("\n")}\n`;
}

/**
 * 128 random bits as systemd writes a machine-id: 32 lower-case hex digits.
 *
 * An image built by installing systemd carries the machine-id of the build
 * (Debian's systemd postinst writes one), so every container made from it
 * would share journal, D-Bus and DHCP DUID identity. systemd's own advice for
 * images is an empty file, but that makes the first boot run `preset-all`,
 * enabling every unit the image author left disabled; one conversion is one
 * machine, so it gets a new id instead. (Proxmox VE's `pct create` removes the
 * id of the containers it makes from a template itself.)
 */
export function freshMachineId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

const MACHINE_ID = /^[0-9a-f]{32}\n?$/;

/** Replace a set machine-id (and D-Bus's copy of it) with a fresh one; an empty or `uninitialized` one stays. */
function renewMachineId(context: ConversionContext): void {
  const old = context.rootfs.readText("/etc/machine-id");
  if (old === undefined || !MACHINE_ID.test(old)) return;
  const id = `${freshMachineId()}\n`;
  // Debian makes D-Bus's a symlink to /etc/machine-id; older images have a copy, which D-Bus would keep using.
  const paths = [
    "/etc/machine-id",
    ...context.rootfs.lkind("/var/lib/dbus/machine-id") === "file" ? ["/var/lib/dbus/machine-id"] : [],
  ];
  for (const path of paths) {
    try {
      context.rootfs.writeFile(path, id, { mode: 0o444 });
    } catch (err) {
      // Not root (--allow-approximate): the image's read-only file cannot be rewritten; say so, do not fail.
      context.warn(
        `cannot give the container a machine-id of its own (${path}: ${(err as Error).message}): it keeps the image's`,
      );
    }
  }
}

/** The host's name servers when some interface is static without DHCP; read only then. */
function hostNameservers(context: ConversionContext, path: string, interfaces: readonly NetInterface[]): string[] {
  if (!interfaces.some(takesHostDns)) return [];
  let servers: string[] = [];
  try {
    servers = nameserversOf(Deno.readTextFileSync(path));
  } catch {
    // Reported below like a file without usable servers.
  }
  if (servers.length === 0) {
    context.warn(`${path} names no name server usable in the container: a static interface gets no DNS= line`);
  }
  return servers;
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
      renewMachineId(context);
      const interfaces = interfacesOf(context);
      if (interfaces.length === 0) return;
      // ifupdown already owns the interfaces on Debian when it is installed.
      if (context.distro.families.includes("debian") && context.rootfs.exists("/sbin/ifup")) return;
      const dns = hostNameservers(context, resolved.hostResolvConf, interfaces);
      for (const i of interfaces) {
        context.rootfs.writeFile(`/etc/systemd/network/50-oci2lxc-${i.name}.network`, renderNetworkFile(i, dns));
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
