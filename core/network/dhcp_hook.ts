/**
 * The host side of DHCP for app containers: `oci2lxc hook dhcp start|stop`, run by LXC as `lxc.hook.start-host` and
 * `lxc.hook.stop`.
 *
 * Start (host namespaces; the container's network namespace exists and its init waits to be executed; `LXC_PID` is that
 * init): one DHCP client per interface and family (`dhcp_client.ts`) is started from the host inside the container's
 * network namespace (`nsenter --net=/proc/PID/ns/net`), detached (own session, stdio on DEST/network/dhcp.log) so LXC
 * does not wait for it and it keeps renewing the lease for as long as the container runs. The hook waits, bounded (10 s
 * by default), for the first lease of every client, so the app starts with its address, route and resolv.conf; when
 * none comes it logs and lets the container start (the client keeps trying).
 *
 * Stop: every client whose command line names this container's event script (`dhcp_processes.ts`) is sent SIGTERM
 * (udhcpc runs with -R, so it releases its lease if the interface still exists) and, after 3 s, SIGKILL. On LXC 5.0.2
 * the interface is already gone when the stop hook runs, so no release reaches the server; the lease stays until it
 * expires. The same clean-up runs before a start, so clients left by a crashed monitor do not pile up.
 *
 * Failures never stop the container from starting; they are written to DEST/network/dhcp.log (and to stderr, which LXC
 * shows in the foreground).
 *
 * @module
 */
import { isHostLabel } from "../plan/hostname.ts";
import { dhclientConf, type DhcpClientChoice, dhcpClientFor, eventScriptOf } from "./dhcp_client.ts";
import { dhcpEventScript } from "./dhcp_event_script.ts";
import { DhcpLog } from "./dhcp_log.ts";
import { endProcesses, findDhcpClients, isClientOf, netnsOf, sleep } from "./dhcp_processes.ts";
import { toolArgv } from "./host_tools.ts";
import { closeInheritedFds } from "./inherited_fds.ts";
import { leaseAddress, resetLeaseState } from "./lease_state.ts";
import { networkPaths, prepareNetworkDir } from "./network_dir.ts";

export type { DhcpClientChoice };

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

const CLIENT_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };
const DEFAULT_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/**
 * Start the DHCP clients of a container and wait (bounded) for their first leases. Never throws for DHCP problems: they
 * are in `errors` and the log.
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
    await endProcesses(stale, STOP_GRACE_MS, (text) => log.line(text));
  }
  resetLeaseState(paths);

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
    const file = eventScriptOf(paths, family);
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
      const plan = dhcpClientFor(family, iface, paths, options.client ?? "auto", hostname);
      if (typeof plan === "string") {
        fail(`Cannot start DHCPv${family} on ${iface}: ${plan}`);
        continue;
      }
      // sh only redirects stdio to the log and execs: the client ends up with the spawned pid, in its own session,
      // outliving this hook.
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

  // Until sh and nsenter have exec'd the client, its command line does not name the event script, and a stop would not
  // find it: wait for that (bounded).
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
 * End every DHCP client of the container and reset its lease state and resolv.conf. Returns how many clients were
 * running.
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
  const n = await endProcesses(pids, options.graceMs ?? STOP_GRACE_MS, (text) => log.line(text));
  resetLeaseState(paths);
  log.line(`stop: ended ${n} client(s)${n > 0 ? `: ${pids.join(" ")}` : ""}`);
  return n;
}
