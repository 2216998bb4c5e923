/**
 * The host side of DHCP for app containers: `oci2lxc hook dhcp start|stop`,
 * run by LXC as `lxc.hook.start-host` and `lxc.hook.stop`.
 *
 * Start (host namespaces; the container's network namespace exists and its
 * init waits to be executed; `LXC_PID` is that init): one DHCP client per
 * interface and family is started from the host inside the container's
 * network namespace (`nsenter --net=/proc/PID/ns/net`), detached (own
 * session, stdio on DEST/network/dhcp.log) so LXC does not wait for it and
 * it keeps renewing the lease for as long as the container runs. The hook
 * waits, bounded (10 s by default), for the first lease of every client, so
 * the app starts with its address, route and resolv.conf; when none comes
 * it logs and lets the container start (the client keeps trying).
 *
 * Clients, in order of preference: busybox `udhcpc` (IPv4) and `udhcpc6`
 * (IPv6; Debian's busybox has no udhcpc6), then ISC `dhclient -4`/`-6`.
 * Tools are looked up only in the system directories, never in PATH, which
 * an image's `lxc.environment` could otherwise steer.
 *
 * Stop: every client whose command line names this container's event
 * script is sent SIGTERM (udhcpc runs with -R, so it releases its lease if
 * the interface still exists) and, after 3 s, SIGKILL. On LXC 5.0.2 the
 * interface is already gone when the stop hook runs, so no release reaches
 * the server; the lease stays until it expires. The same clean-up runs
 * before a start, so clients left by a crashed monitor do not pile up.
 *
 * Failures never stop the container from starting; they are written to
 * DEST/network/dhcp.log (and to stderr, which LXC shows in the foreground).
 *
 * @module
 */
import { close, O_CLOEXEC } from "../native/libc.ts";
import { isHostLabel } from "../plan/hostname.ts";
import { dhcpEventScript } from "./dhcp_event_script.ts";
import { type NetworkPaths, networkPaths, prepareNetworkDir, RESOLV_CONF_HEADER } from "./network_dir.ts";

/** Which DHCP client program to use. */
export type DhcpClientChoice = "auto" | "udhcpc" | "dhclient";

/** Options for {@linkcode startDhcp}. */
export interface DhcpStartOptions {
  /** The container directory DEST (absolute). */
  dir: string;
  /** PID of a process in the container's network namespace (LXC_PID at start-host). */
  pid: number;
  /** Interfaces that get a DHCPv4 client. */
  v4: readonly string[];
  /** Interfaces that get a DHCPv6 client. */
  v6: readonly string[];
  /** Interfaces whose MTU the config fixes (a server's MTU option is ignored for them). */
  keepMtu?: readonly string[];
  /** How long to wait for the first leases, in ms (default 10 000; 0: do not wait). */
  timeoutMs?: number;
  /** The container name, sent as the DHCPv4 host name when it is a valid one. */
  name?: string;
  /** Force a client program (default: busybox first, then dhclient). */
  client?: DhcpClientChoice;
}

/** One client the start hook launched. */
export interface DhcpClientStatus {
  readonly iface: string;
  readonly family: 4 | 6;
  /** Program that runs it: `udhcpc`, `udhcpc6`, `dhclient`. */
  readonly program: string;
  readonly pid: number;
  /** The leased address (CIDR), or `undefined` when none came in time. */
  readonly address: string | undefined;
}

/** What {@linkcode startDhcp} did. */
export interface DhcpStartResult {
  readonly clients: readonly DhcpClientStatus[];
  /** Problems that kept a client from starting, one line each. */
  readonly errors: readonly string[];
  /** Where the full story is. */
  readonly log: string;
}

/** Directories searched for host tools, instead of PATH. */
export const SYSTEM_DIRS: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];
const CLIENT_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };
const DEFAULT_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const LOG_ROTATE_BYTES = 1 << 20;

function findTool(name: string): string | undefined {
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && (st.mode ?? 0) & 0o111) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return undefined;
}

let busyboxApplets: { path: string; applets: Set<string> } | null | undefined;

function busybox(): { path: string; applets: Set<string> } | undefined {
  if (busyboxApplets !== undefined) return busyboxApplets ?? undefined;
  busyboxApplets = null;
  const path = findTool("busybox");
  if (path) {
    try {
      const out = new Deno.Command(path, { args: ["--list"], stdin: "null", stdout: "piped", stderr: "null" })
        .outputSync();
      if (out.success) busyboxApplets = { path, applets: new Set(new TextDecoder().decode(out.stdout).split("\n")) };
    } catch { /* not usable */ }
  }
  return busyboxApplets ?? undefined;
}

/** argv of a tool: a standalone program, or a busybox applet. */
function toolArgv(name: string): string[] | undefined {
  const path = findTool(name);
  if (path) return [path];
  const bb = busybox();
  return bb?.applets.has(name) ? [bb.path, name] : undefined;
}

interface ClientPlan {
  program: string;
  argv: string[];
}

function clientFor(
  family: 4 | 6,
  iface: string,
  paths: NetworkPaths,
  choice: DhcpClientChoice,
  hostname: string | undefined,
): ClientPlan | string {
  const script = family === 4 ? paths.eventScript : `${paths.eventScript}6`;
  const udhcpc = family === 4 ? "udhcpc" : "udhcpc6";
  if (choice !== "dhclient") {
    const argv = toolArgv(udhcpc);
    if (argv) {
      // -f: stay in the foreground of our detached session; -R: release on exit;
      // -t/-T/-A: a discover every second for 10 s, then every 5 s, so the first
      // lease comes fast and a late server is still found.
      const args = family === 4
        ? [
          "-f",
          "-R",
          "-i",
          iface,
          "-s",
          script,
          "-t",
          "10",
          "-T",
          "1",
          "-A",
          "5",
          "-O",
          "mtu",
          "-O",
          "staticroutes",
          "-O",
          "search",
        ]
        : ["-f", "-R", "-i", iface, "-s", script, "-t", "10", "-T", "1", "-A", "5"];
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

/** Appends timestamped lines to DEST/network/dhcp.log (and mirrors problems to stderr). */
class DhcpLog {
  readonly path: string;
  #encoder = new TextEncoder();

  constructor(path: string) {
    this.path = path;
    try {
      if (Deno.statSync(path).size > LOG_ROTATE_BYTES) Deno.renameSync(path, `${path}.1`);
    } catch { /* no log yet */ }
  }

  line(text: string, toStderr = false): void {
    const stamp = new Date().toISOString();
    try {
      Deno.writeFileSync(this.path, this.#encoder.encode(`${stamp} oci2lxc: ${text}\n`), { append: true, mode: 0o644 });
    } catch { /* the log is best effort */ }
    if (toStderr) {
      try {
        Deno.stderr.writeSync(this.#encoder.encode(`oci2lxc dhcp: ${text}\n`));
      } catch { /* no stderr */ }
    }
  }
}

/**
 * Close the descriptors this process inherited without close-on-exec (LXC
 * hands its hooks some of its sockets), so the long-lived clients do not
 * hold them. Deno opens all of its own descriptors with O_CLOEXEC, so those
 * are left alone.
 */
function closeInheritedFds(): number[] {
  const closed: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fdinfo")) {
    const fd = Number(entry.name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      const m = /^flags:\s*([0-7]+)$/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`));
      if (!m) continue;
      flags = parseInt(m[1]!, 8);
    } catch {
      continue; // the directory's own descriptor, already closed
    }
    if ((flags & O_CLOEXEC) === 0 && close(fd) === 0) closed.push(fd);
  }
  return closed;
}

function netnsOf(pid: number | "self"): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is gone or a zombie. */
function isGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * PIDs of the DHCP clients of the container whose event scripts are at
 * `paths`: every process whose argv gives one of them as its script. The
 * script path is unique to DEST, so this finds our clients and nothing else,
 * whichever namespace they run in, with or without pid files.
 */
export function findDhcpClients(paths: NetworkPaths): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid !== Deno.pid && isClientOf(pid, paths)) found.push(pid);
  }
  // A client's child between fork and exec of the event script still shows the
  // client's command line; it is not a client of its own.
  return found.filter((pid) => !found.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

/** Whether `pid` is alive and runs one of the event scripts at `paths`. */
function isClientOf(pid: number, paths: NetworkPaths): boolean {
  let argv: string[];
  try {
    argv = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`)).split("\0");
  } catch {
    return false;
  }
  // The script follows -s (udhcpc) or -sf (dhclient); a running event script
  // names itself too, but as sh's operand, and is not a client.
  return argv.some((a, i) =>
    (a === paths.eventScript || a === `${paths.eventScript}6`) && (argv[i - 1] === "-s" || argv[i - 1] === "-sf")
  ) && !isGone(pid);
}

/** End the given processes: SIGTERM, then SIGKILL after `graceMs`; returns how many were running. */
async function endProcesses(pids: readonly number[], graceMs: number, log: DhcpLog): Promise<number> {
  const signal = (pid: number, sig: Deno.Signal) => {
    try {
      Deno.kill(pid, sig);
    } catch { /* already gone */ }
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some((p) => !isGone(p)) && Date.now() < deadline) await sleep(25);
  const stubborn = pids.filter((p) => !isGone(p));
  for (const pid of stubborn) {
    log.line(`client ${pid} did not end within ${graceMs} ms of SIGTERM; sending SIGKILL`);
    signal(pid, "SIGKILL");
  }
  const killDeadline = Date.now() + 1000;
  while (stubborn.some((p) => !isGone(p)) && Date.now() < killDeadline) await sleep(25);
  return pids.length;
}

/** Rewrite resolv.conf in place (same inode, for the bind mount) and drop lease state. */
function resetState(paths: NetworkPaths): void {
  try {
    for (const e of Deno.readDirSync(paths.stateDir)) Deno.removeSync(`${paths.stateDir}/${e.name}`);
  } catch { /* no state dir */ }
  try {
    for (const e of Deno.readDirSync(paths.runDir)) {
      if (e.name.endsWith(".pid") || e.name === "resolv.lock") {
        Deno.removeSync(`${paths.runDir}/${e.name}`, { recursive: true });
      }
    }
  } catch { /* no run dir */ }
  try {
    // Truncate and write, never rename: the container sees this inode through its bind mount.
    const f = Deno.openSync(paths.resolvConf, { write: true, create: true, truncate: true, mode: 0o644 });
    try {
      f.writeSync(new TextEncoder().encode(RESOLV_CONF_HEADER));
    } finally {
      f.close();
    }
  } catch { /* reported by the next write */ }
}

function leaseAddress(paths: NetworkPaths, iface: string, family: 4 | 6): string | undefined {
  try {
    const text = Deno.readTextFileSync(`${paths.stateDir}/${iface}.${family}`);
    return /^address=(.+)$/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

function dhclientConf(hostname: string | undefined): string {
  return [
    "# Written by oci2lxc for ISC dhclient; rewritten at every start",
    ...(hostname ? [`send host-name "${hostname}";`] : []),
    "request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,",
    "  domain-search, interface-mtu, dhcp6.name-servers, dhcp6.domain-search;",
    "",
  ].join("\n");
}

/**
 * Start the DHCP clients of a container and wait (bounded) for their first
 * leases. Never throws for DHCP problems: they are in `errors` and the log.
 */
export async function startDhcp(options: DhcpStartOptions): Promise<DhcpStartResult> {
  const paths = prepareNetworkDir(options.dir);
  Deno.mkdirSync(paths.stateDir, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const log = new DhcpLog(paths.log);
  const errors: string[] = [];
  const fail = (text: string) => {
    errors.push(text);
    log.line(text, true);
  };
  const pid = options.pid;
  log.line(
    `start: container ${options.name ?? "?"} init pid ${pid}, DHCPv4 on [${options.v4.join(" ")}], DHCPv6 on [${
      options.v6.join(" ")
    }]`,
  );

  const theirs = netnsOf(pid);
  if (theirs === undefined) {
    fail(`Cannot start DHCP: process ${pid} does not exist (is LXC_PID the container's init?)`);
    return { clients: [], errors, log: paths.log };
  }
  if (theirs === netnsOf("self")) {
    fail(
      `Cannot start DHCP: process ${pid} shares this host's network namespace; a client there would configure the host`,
    );
    return { clients: [], errors, log: paths.log };
  }

  const stale = findDhcpClients(paths);
  if (stale.length > 0) {
    log.line(`ending ${stale.length} client(s) left from an earlier run: ${stale.join(" ")}`);
    await endProcesses(stale, STOP_GRACE_MS, log);
  }
  resetState(paths);

  const ip = toolArgv("ip");
  const nsenter = toolArgv("nsenter");
  if (!ip || !nsenter) {
    fail(
      `Cannot start DHCP: ${!ip ? "ip (iproute2)" : "nsenter (util-linux)"} is not on this host, nor busybox with it`,
    );
    return { clients: [], errors, log: paths.log };
  }
  const interfaces = [...new Set([...options.v4, ...options.v6])];
  for (const family of [4, 6] as const) {
    const text = dhcpEventScript({ paths, family, ip, fixedMtu: options.keepMtu ?? [], interfaces });
    const file = family === 4 ? paths.eventScript : `${paths.eventScript}6`;
    Deno.writeTextFileSync(file, text, { mode: 0o755 });
    Deno.chmodSync(file, 0o755);
  }
  const hostname = options.name !== undefined && isHostLabel(options.name) ? options.name : undefined;
  Deno.writeTextFileSync(paths.dhclientConf, dhclientConf(hostname), { mode: 0o644 });

  const closed = closeInheritedFds();
  if (closed.length > 0) log.line(`closed descriptors inherited from LXC: ${closed.join(" ")}`);

  const launched: { iface: string; family: 4 | 6; program: string; pid: number; exited: boolean }[] = [];
  for (const [family, list] of [[4, options.v4], [6, options.v6]] as const) {
    for (const iface of list) {
      const plan = clientFor(family, iface, paths, options.client ?? "auto", hostname);
      if (typeof plan === "string") {
        fail(`Cannot start DHCPv${family} on ${iface}: ${plan}`);
        continue;
      }
      // sh only redirects stdio to the log and execs: the client ends up with
      // the spawned pid, in its own session, outliving this hook.
      const child = new Deno.Command("/bin/sh", {
        args: [
          "-c",
          'log=$1; shift; exec "$@" >>"$log" 2>&1 </dev/null',
          "sh",
          paths.log,
          ...nsenter,
          `--net=/proc/${pid}/ns/net`,
          "--",
          ...plan.argv,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        detached: true,
        clearEnv: true,
        env: CLIENT_ENV,
      }).spawn();
      child.unref();
      const entry = { iface, family, program: plan.program, pid: child.pid, exited: false };
      child.status.then(() => entry.exited = true, () => entry.exited = true);
      launched.push(entry);
      log.line(`started ${plan.program} for IPv${family} on ${iface}: pid ${child.pid}`);
    }
  }

  // Until sh and nsenter have exec'd the client, its command line does not name
  // the event script, and a stop would not find it: wait for that (bounded).
  const execDeadline = Date.now() + 2000;
  const execPending = () => launched.filter((c) => !c.exited && !isClientOf(c.pid, paths));
  while (execPending().length > 0 && Date.now() < execDeadline) await sleep(10);

  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  const pending = () => launched.filter((c) => !c.exited && leaseAddress(paths, c.iface, c.family) === undefined);
  while (pending().length > 0 && Date.now() < deadline) await sleep(50);

  const clients = launched.map((c): DhcpClientStatus => ({
    iface: c.iface,
    family: c.family,
    program: c.program,
    pid: c.pid,
    address: leaseAddress(paths, c.iface, c.family),
  }));
  for (const c of launched) {
    if (c.exited) fail(`${c.program} for IPv${c.family} on ${c.iface} exited at once; see ${paths.log}`);
    else if (leaseAddress(paths, c.iface, c.family) === undefined) {
      log.line(
        `no IPv${c.family} lease on ${c.iface} within ${timeout} ms; starting the container anyway (the client keeps trying)`,
        true,
      );
    }
  }
  log.line(
    `start done: ${
      clients.map((c) => `${c.iface}/v${c.family} ${c.address ?? "no lease yet"}`).join(", ") || "no clients"
    }`,
  );
  return { clients, errors, log: paths.log };
}

/** Options for {@linkcode stopDhcp}. */
export interface DhcpStopOptions {
  /** The container directory DEST (absolute). */
  dir: string;
  /** How long clients get after SIGTERM before SIGKILL, in ms (default 3000). */
  graceMs?: number;
}

/**
 * End every DHCP client of the container and reset its lease state and
 * resolv.conf. Returns how many clients were running.
 */
export async function stopDhcp(options: DhcpStopOptions): Promise<number> {
  const paths = networkPaths(options.dir);
  try {
    Deno.statSync(paths.dir);
  } catch {
    return 0; // never started: nothing to stop, nothing to log
  }
  const log = new DhcpLog(paths.log);
  const pids = findDhcpClients(paths);
  const n = await endProcesses(pids, options.graceMs ?? STOP_GRACE_MS, log);
  resetState(paths);
  log.line(`stop: ended ${n} client(s)${n > 0 ? `: ${pids.join(" ")}` : ""}`);
  return n;
}
