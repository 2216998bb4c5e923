/**
 * Finding the host's tools for the DHCP hook (`ip`, `nsenter`, `udhcpc`, `dhclient`): a standalone program in the
 * system directories, else a busybox applet. Never through PATH, which an image's `lxc.environment` could otherwise
 * steer: the hook runs as root on the host.
 *
 * @module
 */

/** Directories searched for host tools, instead of PATH. */
const SYSTEM_DIRS: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** The path of the executable `name` in the system directories. */
export function findTool(name: string): string | undefined {
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && (st.mode ?? 0) & 0o111) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return undefined;
}

/** busybox and its applets, asked once per process (`undefined`: not asked yet, `null`: none usable). */
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
export function toolArgv(name: string): string[] | undefined {
  const path = findTool(name);
  if (path) return [path];
  const bb = busybox();
  return bb?.applets.has(name) ? [bb.path, name] : undefined;
}
