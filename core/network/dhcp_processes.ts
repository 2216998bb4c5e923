/**
 * The running DHCP clients of a container, found and ended through /proc. A client is found by its command line, which
 * names the container's event script: that path is unique to DEST, so this finds our clients and nothing else,
 * whichever namespace they run in, with or without pid files.
 *
 * @module
 */
import { eventScriptOf } from "./dhcp_client.ts";
import type { NetworkPaths } from "./network_dir.ts";

/** PIDs of the DHCP clients of the container whose event scripts are at `paths`. */
export function findDhcpClients(paths: NetworkPaths): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid !== Deno.pid && isClientOf(pid, paths)) found.push(pid);
  }
  // A client's child between fork and exec of the event script still shows the client's command line; it is not a
  // client of its own.
  return found.filter((pid) => !found.includes(parentOf(pid)));
}

/** Whether `pid` is alive and runs one of the event scripts at `paths`. */
export function isClientOf(pid: number, paths: NetworkPaths): boolean {
  let argv: string[];
  try {
    argv = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`)).split("\0");
  } catch {
    return false;
  }
  const scripts = [eventScriptOf(paths, 4), eventScriptOf(paths, 6)];
  // The script follows -s (udhcpc) or -sf (dhclient); a running event script names itself too, but as sh's operand,
  // and is not a client.
  return argv.some((a, i) => scripts.includes(a) && (argv[i - 1] === "-s" || argv[i - 1] === "-sf")) && !isGone(pid);
}

/** The network namespace of `pid` (its /proc link text), or `undefined` when there is no such process. */
export function netnsOf(pid: number | "self"): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** End the given processes: SIGTERM, then SIGKILL after `graceMs`; returns how many were running. */
export async function endProcesses(
  pids: readonly number[],
  graceMs: number,
  log: (text: string) => void,
): Promise<number> {
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
    log(`client ${pid} did not end within ${graceMs} ms of SIGTERM; sending SIGKILL`);
    signal(pid, "SIGKILL");
  }
  const killDeadline = Date.now() + 1000;
  while (stubborn.some((p) => !isGone(p)) && Date.now() < killDeadline) await sleep(25);
  return pids.length;
}

/** A pause in a bounded polling loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

function parentOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
