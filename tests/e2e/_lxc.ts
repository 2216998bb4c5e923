/**
 * Starting converted containers with the real LXC, bounded and cleaned up.
 */

/** How long one LXC command may run: a bound against a hang, far above any normal run. */
const COMMAND_MS = 120_000;

/** Run a command; returns code and output, never throws on a non-zero exit (a hang is killed after {@linkcode COMMAND_MS}). */
export async function sh(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    env,
    signal: AbortSignal.timeout(COMMAND_MS),
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout) + d.decode(r.stderr) };
}

/** Stop (kill) a container whatever state it is in; for finally blocks. */
export async function forceStop(name: string, parent: string): Promise<void> {
  // `-k` takes no timeout (lxc-stop refuses `-k -t N` and stops nothing); a kill does not wait for the container.
  await sh(["lxc-stop", "-n", name, "-P", parent, "-k"]);
}

/** The pids of every process in the container's pid namespace (from the host's /proc). */
export function containerPids(initPid: number): number[] {
  let ns: string;
  try {
    ns = Deno.readLinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/ns/pid`) === ns) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** A process's state letter (R, S, Z, …) from /proc. */
export function processState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
  } catch {
    return undefined;
  }
}

/** A process's command line, arguments joined by spaces ("" once it is gone). */
export function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replace(/\0$/, "").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Whether a process has a handler for signal number `signal` (SigCgt in /proc). */
export function catchesSignal(pid: number, signal: number): boolean {
  try {
    const mask = /^SigCgt:\s+([0-9a-f]+)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) >> BigInt(signal - 1) & 1n) === 1n;
  } catch {
    return false;
  }
}
