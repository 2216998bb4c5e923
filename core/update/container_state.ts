/**
 * LXC's own view of a container directory DEST (lxcpath DEST's parent, name DEST's base name): whether it runs, and
 * stopping and starting it for `update --restart` and `rollback --restart`.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { Oci2LxcError } from "../errors.ts";

function lxc(tool: string, args: string[]): { ok: boolean; out: string; err: string } {
  try {
    const r = new Deno.Command(tool, { args, stdout: "piped", stderr: "piped" }).outputSync();
    const d = new TextDecoder();
    return { ok: r.success, out: d.decode(r.stdout).trim(), err: d.decode(r.stderr).trim() };
  } catch (err) {
    return { ok: false, out: "", err: (err as Error).message };
  }
}

function where(dest: string): string[] {
  return ["-P", dirname(dest), "-n", basename(dest)];
}

/** Whether LXC reports DEST's container running (false without LXC). */
export function isRunning(dest: string): boolean {
  const r = lxc("lxc-info", [...where(dest), "-s", "-H"]);
  return r.ok && r.out === "RUNNING";
}

/** Stop DEST's container (`lxc-stop`: the stop signal, then a kill after LXC's timeout). */
export function stopContainer(dest: string): void {
  const r = lxc("lxc-stop", where(dest));
  if (!r.ok && isRunning(dest)) {
    throw new Oci2LxcError("destination", `Cannot stop the container ${dest}: ${r.err || "lxc-stop failed"}`, {
      hint: `Stop it yourself (lxc-stop ${where(dest).join(" ")} -k), then run the command again without --restart`,
    });
  }
}

/** Start DEST's container in the background (`lxc-start -d`). */
export function startContainer(dest: string): void {
  const r = lxc("lxc-start", [...where(dest), "-d"]);
  if (!r.ok) {
    throw new Oci2LxcError("destination", `Cannot start the container ${dest} again: ${r.err || "lxc-start failed"}`, {
      hint: `The update is in place; see 'lxc-start ${where(dest).join(" ")} -F' for why it does not start, or ` +
        `'oci2lxc rollback ${dest}'`,
    });
  }
}

/** Throw unless DEST's container is stopped (or `restart` allows stopping it). */
export function refuseRunning(dest: string, action: string, restart: boolean): boolean {
  if (!isRunning(dest)) return false;
  if (restart) return true;
  throw new Oci2LxcError("destination", `Cannot ${action} ${dest}: LXC reports the container running`, {
    hint: `Pass --restart to stop it, ${action} and start it again, or stop it first: lxc-stop ${
      where(dest).join(" ")
    }`,
  });
}
