/**
 * Which DHCP client runs for an interface and family, and its command line. In order of preference: busybox `udhcpc`
 * (IPv4) and `udhcpc6` (IPv6; Debian's busybox has no udhcpc6), then ISC `dhclient -4`/`-6`. Each is given the
 * container's event script, which writes the lease into DEST/network.
 *
 * @module
 */
import { findTool, toolArgv } from "./host_tools.ts";
import type { NetworkPaths } from "./network_dir.ts";

/** Which DHCP client program to use. */
export type DhcpClientChoice = "auto" | "udhcpc" | "dhclient";

/** A client to start. */
export interface DhcpClientCommand {
  /** `udhcpc`, `udhcpc6` or `dhclient`. */
  readonly program: string;
  /** The full command line, the program's path first. */
  readonly argv: readonly string[];
}

/** The event script a client of `family` runs. */
export function eventScriptOf(paths: NetworkPaths, family: 4 | 6): string {
  return family === 4 ? paths.eventScript : `${paths.eventScript}6`;
}

/**
 * The client for `iface` and `family`, or why there is none.
 *
 * @param hostname sent as the DHCPv4 host name, when given
 */
export function dhcpClientFor(
  family: 4 | 6,
  iface: string,
  paths: NetworkPaths,
  choice: DhcpClientChoice,
  hostname: string | undefined,
): DhcpClientCommand | string {
  const script = eventScriptOf(paths, family);
  const udhcpc = family === 4 ? "udhcpc" : "udhcpc6";
  if (choice !== "dhclient") {
    const argv = toolArgv(udhcpc);
    if (argv) {
      // -f: stay in the foreground of our detached session; -R: release on exit; -t/-T/-A: a discover every second for
      // 10 s, then every 5 s, so the first lease comes fast and a late server is still found.
      const args = ["-f", "-R", "-i", iface, "-s", script, "-t", "10", "-T", "1", "-A", "5"];
      if (family === 4) args.push("-O", "mtu", "-O", "staticroutes", "-O", "search");
      if (family === 4 && hostname) args.push("-x", `hostname:${hostname}`);
      return { program: udhcpc, argv: [...argv, ...args] };
    }
    if (choice === "udhcpc") return `no ${udhcpc} on this host (busybox without that applet, or no busybox)`;
  }
  const dhclient = findTool("dhclient");
  if (!dhclient) {
    return `no DHCP client for IPv${family} on this host: install busybox (udhcpc${
      family === 6 ? "6, which Debian's busybox lacks" : ""
    }) or isc-dhcp-client (dhclient)`;
  }
  const tag = `${iface}-${family}`;
  return {
    program: "dhclient",
    argv: [
      dhclient,
      `-${family}`,
      "-d",
      "-cf",
      paths.dhclientConf,
      "-lf",
      `${paths.runDir}/dhclient-${tag}.leases`,
      "-pf",
      `${paths.runDir}/dhclient-${tag}.pid`,
      "-sf",
      script,
      iface,
    ],
  };
}

/** ISC dhclient's config: the host name to send and the options to ask for. */
export function dhclientConf(hostname: string | undefined): string {
  return [
    "# Written by oci2lxc for ISC dhclient; rewritten at every start",
    ...(hostname ? [`send host-name "${hostname}";`] : []),
    "request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,",
    "  domain-search, interface-mtu, dhcp6.name-servers, dhcp6.domain-search;",
    "",
  ].join("\n");
}
