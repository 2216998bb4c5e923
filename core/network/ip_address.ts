/**
 * Strict parsing of IPv4 and IPv6 addresses and CIDR prefixes, for values that reach `lxc.net.N.ipv4.*` / `ipv6.*` and
 * the distro's network files. Strict means: no leading zeros in IPv4 octets (some parsers read them as octal), no zone
 * ids, no blanks, and the prefix length given in decimal.
 *
 * @module
 */

/** An IPv4 address as four octets, or `undefined` when `text` is not one. */
export function parseIpv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets as [number, number, number, number];
}

/** An IPv6 address as eight 16-bit groups, or `undefined` when `text` is not one. */
export function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const words = part.split(":");
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (i === words.length - 1 && w.includes(".")) {
        const v4 = parseIpv4(w);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(w)) return undefined;
        out.push(parseInt(w, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Why `text` cannot be a host's IPv4 address (unspecified, loopback, multicast, broadcast), or `undefined`. */
export function ipv4HostProblem(octets: readonly number[]): string | undefined {
  const [a] = octets;
  if (octets.every((o) => o === 0)) return "it is the unspecified address";
  if (a === 127) return "it is a loopback address";
  if (a !== undefined && a >= 224 && a <= 239) return "it is a multicast address";
  if (octets.every((o) => o === 255)) return "it is the broadcast address";
  return undefined;
}

/** Why `groups` cannot be a host's IPv6 address (unspecified, loopback, multicast), or `undefined`. */
export function ipv6HostProblem(groups: readonly number[]): string | undefined {
  if (groups.every((g) => g === 0)) return "it is the unspecified address";
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "it is the loopback address";
  if (((groups[0] ?? 0) >> 8) === 0xff) return "it is a multicast address";
  return undefined;
}

/** A prefix length in decimal without leading zeros, within `1..max`, or `undefined`. */
export function parsePrefix(text: string, max: number): number | undefined {
  if (!/^[1-9][0-9]{0,2}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/**
 * For an IPv4 CIDR whose prefix leaves at least two host bits, say whether the address is the network or the broadcast
 * address of its subnet.
 */
export function ipv4SubnetEdge(octets: readonly number[], prefix: number): "network" | "broadcast" | undefined {
  if (prefix > 30) return undefined;
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const offset = value % size;
  if (offset === 0) return "network";
  if (offset === size - 1) return "broadcast";
  return undefined;
}
