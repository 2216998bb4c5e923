/**
 * A private network for tests: a network namespace of our own
 * (`oci2lxc-t-<random>`) with a bridge, an address on it, and dnsmasq
 * handing out short DHCP leases on it. Containers (or a second namespace
 * that plays one) attach to that bridge, so no packet ever reaches the
 * host's own interfaces, and nothing on the host is changed but the
 * namespaces this file creates and removes.
 *
 * Facts it relies on (see shared/TESTING-LXC.md): `ip netns exec` mounts a
 * fresh /sys, hiding the cgroup mounts, so `lxc-start` is run after
 * re-mounting them there; LXC's command socket is abstract and belongs to
 * the network namespace, so `lxc-stop`/`lxc-info` run in it too.
 *
 * Every step is bounded in time; `cleanup()` always runs everything it can
 * (stop containers, kill dnsmasq and every process left in our namespaces,
 * delete them, remove the temp dir) and never throws.
 *
 * Needs root, iproute2, dnsmasq (package dnsmasq-base) and, for
 * containers, LXC. {@linkcode netnsMissing} says what is missing.
 *
 * @module
 */
import { requireSystemTier } from "../_helpers/tier.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const STEP_MS = 20_000;
const NETNS_DIR = "/var/run/netns";
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const decoder = new TextDecoder();

/** What a command run by the harness produced. */
export interface RunOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function which(cmd: string): string | undefined {
  for (const dir of SYSTEM_PATH.split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch { /* next */ }
  }
  return undefined;
}

/** Why namespace tests cannot run here, or `undefined` when they can. */
export function netnsMissing(): string | undefined {
  requireSystemTier("network namespaces");
  if (Deno.uid() !== 0) return "they must run as root";
  for (const cmd of ["ip", "dnsmasq", "nsenter"]) if (!which(cmd)) return `${cmd} is not installed`;
  return undefined;
}

/** Run argv (bounded); never throws for a non-zero exit. */
export async function run(
  argv: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunOutput> {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: SYSTEM_PATH, ...options.env },
    signal: AbortSignal.timeout(options.timeoutMs ?? STEP_MS),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Run argv and throw with its stderr unless it succeeds. */
export async function must(
  argv: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await run(argv, options);
  if (out.code !== 0) throw new Error(`${argv.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  return out.stdout;
}

function randomTag(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The nsfs inode text (`net:[123]`) of a named namespace, or `undefined`. */
function netnsId(path: string): string | undefined {
  try {
    return `net:[${Deno.statSync(path).ino}]`;
  } catch {
    return undefined;
  }
}

/** PIDs of every process whose network namespace is `id` (`net:[…]`). */
export function processesInNetns(id: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/ns/net`) === id) pids.push(Number(e.name));
    } catch { /* gone or not ours to read */ }
  }
  return pids;
}

/** Whether a pid is gone or a zombie. */
export function isGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat[stat.lastIndexOf(")") + 2] === "Z";
  } catch {
    return true;
  }
}

// Re-mount the cgroup hierarchies that `ip netns exec` hides behind its fresh /sys,
// then exec the rest of the arguments (TESTING-LXC.md). Controllers the host lacks are skipped.
const CGROUP_DANCE = `
mount -t tmpfs cgroup /sys/fs/cgroup || exit 1
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>/dev/null || rmdir /sys/fs/cgroup/$c
done
mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd 2>/dev/null || rmdir /sys/fs/cgroup/systemd
mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified 2>/dev/null || rmdir /sys/fs/cgroup/unified
exec "$@"`;

/** A second namespace wired to the bridge, playing a container. */
export interface PeerNamespace {
  /** Its name under /var/run/netns. */
  readonly ns: string;
  /** The interface inside it (`eth0`). */
  readonly iface: string;
  /** A `sleep` running inside it: use it as LXC_PID. */
  readonly pid: number;
}

/** Options for {@linkcode createTestNetwork}. */
export interface TestNetworkOptions {
  /** Run dnsmasq as DHCP server (default true). */
  dhcp?: boolean;
  /** Lease time in seconds; dnsmasq raises anything below 120 to 120 (default 120). */
  leaseSeconds?: number;
  /** Serve DHCPv6 and router advertisements on fd00:<tag>::/64 too (default false). */
  ipv6?: boolean;
}

/** A private network namespace with a bridge and a DHCP server. */
export class TestNetwork implements AsyncDisposable {
  /** The namespace name, `oci2lxc-t-<random>`. */
  readonly ns: string;
  /** The bridge inside it. */
  readonly bridge = "br0";
  /** The bridge's IPv4 address (gateway and DNS server of the leases). */
  readonly bridgeIp: string;
  /** First three octets of the /24. */
  readonly subnet: string;
  /** The DHCP range, inclusive, by last octet. */
  readonly range = [100, 150] as const;
  /** The bridge's IPv6 address when `ipv6` is on. */
  readonly bridgeIp6: string;
  /** Temp dir for dnsmasq's files and anything a test wants to keep there. */
  readonly dir: string;
  readonly dnsmasqLogPath: string;
  readonly leaseFile: string;

  #dnsmasq: Deno.ChildProcess | undefined;
  #peers: string[] = [];
  #containers: { name: string; lxcpath: string }[] = [];
  #pids: number[] = [];

  private constructor() {
    const tag = randomTag();
    this.ns = `oci2lxc-t-${tag}`;
    const third = parseInt(tag.slice(0, 2), 16);
    this.subnet = `10.213.${third}`;
    this.bridgeIp = `${this.subnet}.1`;
    this.bridgeIp6 = `fd00:${(parseInt(tag.slice(0, 4), 16) | 0x1000).toString(16)}::1`; // four digits, no leading zero: as ip prints it
    this.dir = Deno.makeTempDirSync({ prefix: "oci2lxc-netns-" });
    this.dnsmasqLogPath = `${this.dir}/dnsmasq.log`;
    this.leaseFile = `${this.dir}/dnsmasq.leases`;
  }

  /** Create the namespace, the bridge and (by default) dnsmasq; cleans up itself if a step fails. */
  static async create(options: TestNetworkOptions = {}): Promise<TestNetwork> {
    const net = new TestNetwork();
    try {
      await must(["ip", "netns", "add", net.ns]);
      await net.exec(["ip", "link", "set", "lo", "up"]);
      await net.exec(["ip", "link", "add", net.bridge, "type", "bridge", "forward_delay", "0"]);
      await net.exec(["ip", "addr", "add", `${net.bridgeIp}/24`, "dev", net.bridge]);
      if (options.ipv6) {
        await net.exec(["ip", "-6", "addr", "add", `${net.bridgeIp6}/64`, "dev", net.bridge, "nodad"]);
      }
      await net.exec(["ip", "link", "set", net.bridge, "up"]);
      if (options.dhcp ?? true) await net.#startDnsmasq(options);
      return net;
    } catch (err) {
      await net.cleanup();
      throw err;
    }
  }

  async #startDnsmasq(options: TestNetworkOptions): Promise<void> {
    const lease = options.leaseSeconds ?? 120;
    const args = [
      "netns",
      "exec",
      this.ns,
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      `--interface=${this.bridge}`,
      "--bind-interfaces",
      "--except-interface=lo",
      "--port=0", // no DNS service; leases still name a DNS server below
      "--no-resolv",
      "--no-hosts",
      `--dhcp-range=${this.subnet}.${this.range[0]},${this.subnet}.${this.range[1]},255.255.255.0,${lease}`,
      `--dhcp-option=option:router,${this.bridgeIp}`,
      `--dhcp-option=option:dns-server,${this.bridgeIp}`,
      "--dhcp-option=option:domain-search,oci2lxc.test",
      "--dhcp-lease-max=50",
      `--dhcp-leasefile=${this.leaseFile}`,
      `--pid-file=${this.dir}/dnsmasq.pid`,
      "--log-dhcp",
      `--log-facility=${this.dnsmasqLogPath}`,
      "--user=root",
      "--no-ping", // dnsmasq blocks ~3 s pinging each new address; tests need no such check
    ];
    if (options.ipv6) {
      const prefix = this.bridgeIp6.replace(/::1$/, "::");
      args.push(
        `--dhcp-range=${prefix}100,${prefix}1ff,64,${lease}`,
        "--enable-ra",
        `--dhcp-option=option6:dns-server,[${this.bridgeIp6}]`,
      );
    }
    this.#dnsmasq = new Deno.Command("ip", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { PATH: SYSTEM_PATH },
    }).spawn();
    await waitFor("dnsmasq to listen", 10_000, () => {
      try {
        return Deno.readTextFileSync(this.dnsmasqLogPath).includes("sockets bound exclusively");
      } catch {
        return false;
      }
    });
  }

  /** Run argv inside the namespace (bounded). */
  runInNetns(
    argv: readonly string[],
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<RunOutput> {
    return run(["ip", "netns", "exec", this.ns, ...argv], options);
  }

  /** Like {@linkcode runInNetns} but throws unless it succeeds. */
  exec(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    return must(["ip", "netns", "exec", this.ns, ...argv], options);
  }

  /** What dnsmasq logged so far. */
  dnsmasqLog(): string {
    try {
      return Deno.readTextFileSync(this.dnsmasqLogPath);
    } catch {
      return "";
    }
  }

  /** Whether `address` is inside the DHCP range. */
  inRange(address: string): boolean {
    const m = /^(\d+\.\d+\.\d+)\.(\d+)$/.exec(address);
    return !!m && m[1] === this.subnet && Number(m[2]) >= this.range[0] && Number(m[2]) <= this.range[1];
  }

  /**
   * A second namespace with `eth0` on our bridge (a veth pair) and a `sleep`
   * inside it, to stand in for a container's init (LXC_PID).
   */
  async addPeer(): Promise<PeerNamespace> {
    const ns = `${this.ns}-p${this.#peers.length}`;
    await must(["ip", "netns", "add", ns]);
    this.#peers.push(ns);
    const host = `vp${this.#peers.length - 1}${randomTag().slice(0, 6)}`;
    await must(["ip", "-n", this.ns, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await this.exec(["ip", "link", "set", host, "master", this.bridge, "up"]);
    await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    await must(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    const sleeper = new Deno.Command("ip", {
      args: ["netns", "exec", ns, "sleep", "600"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { PATH: SYSTEM_PATH },
    }).spawn();
    this.#pids.push(sleeper.pid);
    // `ip netns exec` execs the command: the pid is sleep's once it is in the namespace.
    await waitFor("the peer's sleep to enter its namespace", 5_000, () => {
      try {
        return Deno.readLinkSync(`/proc/${sleeper.pid}/ns/net`) === netnsId(`${NETNS_DIR}/${ns}`);
      } catch {
        return false;
      }
    });
    return { ns, iface: "eth0", pid: sleeper.pid };
  }

  /** Run argv inside a peer namespace (bounded). */
  runInPeer(peer: PeerNamespace, argv: readonly string[]): Promise<RunOutput> {
    return run(["ip", "netns", "exec", peer.ns, ...argv]);
  }

  /**
   * `lxc-start -d` a container inside our namespace (so its veth lands on our
   * bridge), after the cgroup re-mount `ip netns exec` needs.
   */
  async startContainerInNetns(name: string, lxcpath: string, logFile?: string): Promise<RunOutput> {
    this.#containers.push({ name, lxcpath });
    const log = logFile ? ["-l", "DEBUG", "-o", logFile] : [];
    return await this.runInNetns(
      ["sh", "-c", CGROUP_DANCE, "sh", "lxc-start", "-d", "-n", name, "-P", lxcpath, ...log],
      {
        timeoutMs: 60_000,
      },
    );
  }

  /** Run an LXC tool (lxc-info, lxc-stop, lxc-attach) where the container's command socket is. */
  lxc(tool: string, args: readonly string[], timeoutMs = STEP_MS): Promise<RunOutput> {
    return run(["nsenter", `--net=${NETNS_DIR}/${this.ns}`, tool, ...args], { timeoutMs });
  }

  /** Remember a pid to kill at cleanup. */
  track(pid: number): void {
    this.#pids.push(pid);
  }

  /** Stop containers, dnsmasq and every process in our namespaces; delete them; never throws. */
  async cleanup(): Promise<void> {
    for (const c of this.#containers) {
      try {
        await this.lxc("lxc-stop", ["-k", "-n", c.name, "-P", c.lxcpath], 15_000);
      } catch { /* next */ }
    }
    try {
      this.#dnsmasq?.kill("SIGTERM");
      await Promise.race([this.#dnsmasq?.status, new Promise((r) => setTimeout(r, 3000))]);
    } catch { /* gone */ }
    for (const ns of [...this.#peers, this.ns]) {
      const id = netnsId(`${NETNS_DIR}/${ns}`);
      const pids = [...(id ? processesInNetns(id) : []), ...this.#pids].filter((p) => p !== Deno.pid);
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      // Never throws: what is still alive after 3 s is left to `ip netns del`.
      await waitFor("the namespace's processes to end", 3000, () => pids.every(isGone)).catch(() => {});
      try {
        await run(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
      } catch { /* best effort */ }
    }
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch { /* already gone */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

/** Create a {@linkcode TestNetwork}; use with `await using`. */
export function createTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  return TestNetwork.create(options);
}
