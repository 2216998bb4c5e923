/**
 * `--net` options: what network interfaces a converted container gets.
 *
 * Syntax, one interface per `--net` (repeatable):
 * `name=eth0,link=BRIDGE,ip=CIDR|dhcp|none,gw=IP|auto,ip6=CIDR|dhcp|auto|none,gw6=IP|auto,hwaddr=XX:XX:XX:XX:XX:XX,mtu=N,type=veth|macvlan`,
 * every key optional; `--net none` alone means loopback only.
 *
 * Defaults, and why:
 * - `name`: `eth<N>`, N being the interface's position among the `--net` options.
 * - `type`: `veth`. `macvlan` (bridge mode) needs `link=` (the parent device).
 * - `link`: none. There is no default bridge: Debian's LXC has no `lxcbr0` unless lxc-net is set up, and guessing one
 *   would attach the container to a network the user did not name. Without `link`, the host end of the veth is on no
 *   bridge, so nothing answers DHCP until something attaches it ({@linkcode netSpecWarnings} says so).
 * - `ip`: `dhcp`. Someone who gives an interface usually wants an address; `ip=none` leaves IPv4 unconfigured.
 * - `ip6`: `auto`: the kernel's SLAAC from router advertisements, which every new network namespace does by default
 *   (accept_ra=1, autoconf=1). oci2lxc writes nothing for it; `ip6=none` means the same for oci2lxc (the kernel may
 *   still autoconfigure), and differs only for a distro's own network files (`inet6 auto` versus nothing).
 * - `hwaddr`: none here; {@linkcode lxcNetLines} writes a fixed random one so that a DHCP server gives the container
 *   the same lease at every start.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { ipv4HostProblem, ipv4SubnetEdge, ipv6HostProblem, parseIpv4, parseIpv6, parsePrefix } from "./ip_address.ts";

/** How one address family of an interface is configured. */
export type Ipv4Config =
  /** A DHCP client asks for an address (for app containers, oci2lxc's hook runs it). */
  | { readonly mode: "dhcp" }
  /** A fixed address; `gateway` is an address or `auto` (LXC: the bridge's own address). */
  | { readonly mode: "static"; readonly cidr: string; readonly gateway: string | undefined }
  /** No IPv4 configuration. */
  | { readonly mode: "none" };

/** IPv6 adds `auto`: SLAAC by the kernel from router advertisements. */
export type Ipv6Config = Ipv4Config | { readonly mode: "auto" };

/** `--net none`: loopback only. */
export interface NetNone {
  readonly type: "none";
}

/** One network interface of the container. */
export interface NetInterface {
  readonly type: "veth" | "macvlan";
  /** The interface name inside the container. */
  readonly name: string;
  /** The host bridge (veth) or parent device (macvlan), if any. */
  readonly link: string | undefined;
  readonly ipv4: Ipv4Config;
  readonly ipv6: Ipv6Config;
  /** Lower-case MAC; LXC replaces each `x` with a random hex digit at every start. */
  readonly hwaddr: string | undefined;
  readonly mtu: number | undefined;
}

/** What one `--net` option says. */
export type NetSpec = NetNone | NetInterface;

/** Options for {@linkcode parseNetSpec}. */
export interface ParseNetSpecOptions {
  /** The interface's position among the `--net` options, for the default name `eth<index>`. */
  index?: number;
}

const KEYS = ["name", "type", "link", "ip", "gw", "ip6", "gw6", "hwaddr", "mtu"] as const;
type Key = typeof KEYS[number];

// Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' or blanks. We take a conservative set that every
// tool (ip, LXC, ifupdown) reads the same way.
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const HWADDR = /^[0-9a-fx]{2}(:[0-9a-fx]{2}){5}$/;
const MIN_MTU = 68;
const MIN_MTU_IPV6 = 1280;

/**
 * Parse one `--net` value. Throws `Oci2LxcError("usage")` `Cannot parse --net "TEXT": …` naming the bad key or value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNetSpec } from "./net_spec.ts";
 * const spec = parseNetSpec("link=br0,ip=10.0.3.5/24,gw=10.0.3.1");
 * assert(spec.type === "veth" && spec.name === "eth0" && spec.ipv4.mode === "static");
 * assert.equal(parseNetSpec("none").type, "none");
 * ```
 */
export function parseNetSpec(text: string, options: ParseNetSpecOptions = {}): NetSpec {
  const fail = (why: string): never => {
    throw new Oci2LxcError("usage", `Cannot parse --net ${JSON.stringify(text)}: ${why}`, {
      hint:
        "Write --net none, or --net name=eth0,link=BRIDGE,ip=CIDR|dhcp|none,gw=IP,ip6=CIDR|dhcp|auto|none,gw6=IP,hwaddr=MAC,mtu=N,type=veth|macvlan",
    });
  };
  if (text.trim() === "none") return { type: "none" };
  if (text.trim() === "") fail("it is empty");

  const values = new Map<Key, string>();
  for (const item of text.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) {
      fail(item === "none" ? "none cannot be combined with other keys" : `"${item}" is not KEY=VALUE`);
    }
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) fail(`unknown key "${key}" (known: ${KEYS.join(", ")})`);
    if (values.has(key as Key)) fail(`${key}= is given twice`);
    if (value === "") fail(`${key}= has no value`);
    values.set(key as Key, value);
  }

  const index = options.index ?? 0;
  const name = values.get("name") ?? `eth${index}`;
  if (!IFNAME.test(name) || name === "." || name === "..") {
    fail(`name=${name} is not an interface name (1 to 15 of A-Z a-z 0-9 _ . -)`);
  }
  if (name === "lo") fail("name=lo is the loopback interface, which every container has");

  const typeText = values.get("type") ?? "veth";
  if (typeText !== "veth" && typeText !== "macvlan") fail(`type=${typeText} is not supported (veth or macvlan)`);
  const type = typeText as "veth" | "macvlan";

  const link = values.get("link");
  if (link !== undefined && (!IFNAME.test(link) || link === "." || link === "..")) {
    fail(`link=${link} is not an interface name (1 to 15 of A-Z a-z 0-9 _ . -)`);
  }
  if (type === "macvlan" && link === undefined) fail("type=macvlan needs link= (the host device it sits on)");

  const ipv4 = parseIpv4Config(values.get("ip"), values.get("gw"), fail);
  const ipv6 = parseIpv6Config(values.get("ip6"), values.get("gw6"), fail);

  let hwaddr = values.get("hwaddr");
  if (hwaddr !== undefined) {
    hwaddr = hwaddr.toLowerCase();
    if (!HWADDR.test(hwaddr)) fail(`hwaddr=${values.get("hwaddr")} is not a MAC address like 00:16:3e:12:34:56`);
    const first = hwaddr.slice(0, 2);
    if (!first.includes("x") && (parseInt(first, 16) & 1) === 1) {
      fail(`hwaddr=${hwaddr} is a multicast address (the first octet must be even)`);
    }
    if (/^00(:00){5}$/.test(hwaddr)) fail(`hwaddr=${hwaddr} is all zeros`);
  }

  let mtu: number | undefined;
  const mtuText = values.get("mtu");
  if (mtuText !== undefined) {
    if (!/^[1-9][0-9]{1,4}$/.test(mtuText) || Number(mtuText) < MIN_MTU || Number(mtuText) > 65535) {
      fail(`mtu=${mtuText} is not a number from ${MIN_MTU} to 65535`);
    }
    mtu = Number(mtuText);
    if (mtu < MIN_MTU_IPV6 && (ipv6.mode === "static" || ipv6.mode === "dhcp")) {
      fail(`mtu=${mtu} is below ${MIN_MTU_IPV6}, the least IPv6 works with, and ip6= asks for IPv6`);
    }
  }

  return { type, name, link, ipv4, ipv6, hwaddr, mtu };
}

function parseIpv4Config(ip: string | undefined, gw: string | undefined, fail: (why: string) => never): Ipv4Config {
  const mode = ip ?? "dhcp";
  if (mode === "dhcp" || mode === "none") {
    if (gw !== undefined) {
      fail(
        `gw= needs a static ip=CIDR (${mode === "dhcp" ? "DHCP brings its own gateway" : "ip=none has no address"})`,
      );
    }
    return { mode };
  }
  const slash = mode.indexOf("/");
  if (slash < 0) fail(`ip=${mode} has no prefix length (write it as CIDR, e.g. ${mode}/24), and is not dhcp or none`);
  const octets = parseIpv4(mode.slice(0, slash));
  if (!octets) fail(`ip=${mode} is not an IPv4 address in CIDR form (dhcp, none, or e.g. 10.0.3.5/24)`);
  const prefix = parsePrefix(mode.slice(slash + 1), 32);
  if (prefix === undefined) fail(`ip=${mode} has a bad prefix length (1 to 32)`);
  const problem = ipv4HostProblem(octets!);
  if (problem) fail(`ip=${mode}: ${problem}`);
  const edge = ipv4SubnetEdge(octets!, prefix!);
  if (edge) fail(`ip=${mode} is the ${edge} address of its subnet`);
  if (gw !== undefined && gw !== "auto") {
    const g = parseIpv4(gw);
    if (!g) fail(`gw=${gw} is not an IPv4 address (or auto)`);
    const gProblem = ipv4HostProblem(g!);
    if (gProblem) fail(`gw=${gw}: ${gProblem}`);
    if (g!.join(".") === octets!.join(".")) fail(`gw=${gw} is the interface's own address`);
  }
  return { mode: "static", cidr: mode, gateway: gw };
}

function parseIpv6Config(ip: string | undefined, gw: string | undefined, fail: (why: string) => never): Ipv6Config {
  const mode = ip ?? "auto";
  if (mode === "dhcp" || mode === "none" || mode === "auto") {
    if (gw !== undefined) fail(`gw6= needs a static ip6=CIDR (ip6=${mode} has none to route from)`);
    return { mode };
  }
  const slash = mode.indexOf("/");
  if (slash < 0) fail(`ip6=${mode} has no prefix length (e.g. ${mode}/64), and is not dhcp, auto or none`);
  const groups = parseIpv6(mode.slice(0, slash));
  if (!groups) fail(`ip6=${mode} is not an IPv6 address in CIDR form (dhcp, auto, none, or e.g. fd00::5/64)`);
  const prefix = parsePrefix(mode.slice(slash + 1), 128);
  if (prefix === undefined) fail(`ip6=${mode} has a bad prefix length (1 to 128)`);
  const problem = ipv6HostProblem(groups!);
  if (problem) fail(`ip6=${mode}: ${problem}`);
  if (gw !== undefined && gw !== "auto") {
    const g = parseIpv6(gw);
    if (!g) fail(`gw6=${gw} is not an IPv6 address (or auto)`);
    const gProblem = ipv6HostProblem(g!);
    if (gProblem) fail(`gw6=${gw}: ${gProblem}`);
    if (g!.join(":") === groups!.join(":")) fail(`gw6=${gw} is the interface's own address`);
  }
  return { mode: "static", cidr: mode.toLowerCase(), gateway: gw?.toLowerCase() };
}

/**
 * Parse every `--net` option: default names by position, no name twice, `none` only alone. An empty list gives an empty
 * list (the caller decides what no `--net` means).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNetSpecs } from "./net_spec.ts";
 * const specs = parseNetSpecs(["link=br0", "link=br1,ip=none,ip6=dhcp"]);
 * assert.equal(specs.map((s) => s.type === "none" ? "" : s.name).join(), "eth0,eth1");
 * ```
 */
export function parseNetSpecs(texts: readonly string[]): NetSpec[] {
  const specs = texts.map((text, index) => parseNetSpec(text, { index }));
  if (specs.length > 1 && specs.some((s) => s.type === "none")) {
    throw new Oci2LxcError(
      "usage",
      "Cannot parse --net none: it means loopback only, so it cannot be combined with other --net options",
      {
        hint: "Give either --net none or one --net per interface",
      },
    );
  }
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.type === "none") continue;
    if (seen.has(spec.name)) {
      throw new Oci2LxcError("usage", `Cannot parse --net: two interfaces are named ${spec.name}`, {
        hint: "Give each --net its own name=",
      });
    }
    seen.add(spec.name);
  }
  return specs;
}

/** Whether any interface asks a DHCP client for IPv4 or IPv6. */
export function wantsDhcp(specs: readonly NetSpec[]): boolean {
  return specs.some((s) => s.type !== "none" && (s.ipv4.mode === "dhcp" || s.ipv6.mode === "dhcp"));
}

function describeFamily(family: "IPv4" | "IPv6", config: Ipv6Config): string {
  switch (config.mode) {
    case "dhcp":
      return `${family} DHCP`;
    case "auto":
      return `${family} SLAAC (kernel)`;
    case "none":
      return `no ${family}`;
    case "static":
      return config.gateway === undefined ? config.cidr : `${config.cidr} via ${config.gateway}`;
  }
}

/**
 * One line per interface for reports and config comments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { netSpecSummary, parseNetSpec } from "./net_spec.ts";
 * assert.equal(
 *   netSpecSummary(parseNetSpec("link=br0,ip=10.0.3.5/24,gw=10.0.3.1,ip6=none")),
 *   "eth0: veth on br0, 10.0.3.5/24 via 10.0.3.1, no IPv6",
 * );
 * ```
 */
export function netSpecSummary(spec: NetSpec): string {
  if (spec.type === "none") return "none: loopback only";
  const where = spec.link === undefined ? `${spec.type} on no bridge` : `${spec.type} on ${spec.link}`;
  const parts = [where, describeFamily("IPv4", spec.ipv4), describeFamily("IPv6", spec.ipv6)];
  if (spec.mtu !== undefined) parts.push(`mtu ${spec.mtu}`);
  if (spec.hwaddr !== undefined) parts.push(`hwaddr ${spec.hwaddr}`);
  return `${spec.name}: ${parts.join(", ")}`;
}

/** Things about the specs the user should hear of; nothing that stops a conversion. */
export function netSpecWarnings(specs: readonly NetSpec[]): string[] {
  const out: string[] = [];
  for (const s of specs) {
    if (s.type === "none" || s.link !== undefined) continue;
    const dhcp = s.ipv4.mode === "dhcp" || s.ipv6.mode === "dhcp";
    out.push(
      `${s.name} has no link=, so the host end of its veth is on no bridge` +
        (dhcp ? "; DHCP gets no answer until something attaches it" : ""),
    );
  }
  return out;
}
