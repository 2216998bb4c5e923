/**
 * What DEST may be before a conversion writes or replaces it. `--force` replaces DEST, so it must never reach a
 * directory that is not a container: the system's own directories, the directory the user is in (or one above it), an
 * empty DEST from an unset shell variable, a tree with something mounted in it, or a container LXC is running.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { Oci2LxcError } from "../errors.ts";

/** Directories replaced by nobody's `--force`, even with `--replace-any` (each itself, not what is inside). */
const SYSTEM_DIRS = new Set([
  "/",
  "/etc",
  "/usr",
  "/var",
  "/home",
  "/root",
  "/boot",
  "/bin",
  "/sbin",
  "/srv",
  "/opt",
  "/proc",
  "/sys",
  "/dev",
  "/run",
  "/tmp",
]);

/** Options for {@linkcode guardDestination}. */
export interface GuardOptions {
  /** `--force`: an existing DEST may be replaced. */
  force?: boolean | undefined;
  /** `--replace-any`: with force, also a DEST that does not look like a container. */
  replaceAny?: boolean | undefined;
  /** `pve`: DEST is an output directory written into, never replaced. */
  format?: "lxc" | "pve" | undefined;
  /** A dry run replaces nothing: an existing DEST without force is fine (with force, everything is checked). */
  dryRun?: boolean | undefined;
  /** The directory relative DESTs are resolved from; the working directory by default. */
  cwd?: string | undefined;
}

/** Where DEST is, as {@linkcode guardDestination} found it. */
export interface GuardedDest {
  /** DEST made absolute (lexically, as the user wrote it). */
  readonly absDest: string;
  /** The entry a commit creates or replaces: DEST's real parent directory plus its base name. */
  readonly target: string;
  /** Whether something (file, directory or symlink) is at `target` now. */
  readonly exists: boolean;
}

/**
 * Check DEST before any work. For `--format lxc`: an existing DEST needs `force`; with force it must not be `/`, a
 * system directory, the working directory or one of its ancestors, must not have anything mounted in it or be a running
 * LXC container, and must look like a container (a `config` or `rootfs` in it, or empty) unless `replaceAny`. For
 * `--format pve` DEST is written into, so only the empty DEST and the system's directories are refused.
 *
 * @throws {Oci2LxcError} code "usage" for an empty DEST or `--replace-any` without `--force`,
 *   "destination" for a DEST that may not be written or replaced
 *
 * @example Refusing /etc
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardDestination } from "./dest_guard.ts";
 * try {
 *   guardDestination("/etc", { force: true });
 * } catch (err) {
 *   assert((err as Error).message.includes("system directory"));
 * }
 * ```
 */
export function guardDestination(dest: string, options: GuardOptions = {}): GuardedDest {
  if (dest.trim() === "") {
    throw new Oci2LxcError("usage", "Cannot use an empty DEST: it names no directory", {
      hint: "Pass the container directory, e.g. /var/lib/lxc/NAME (is a shell variable unset?)",
    });
  }
  if (options.replaceAny && !options.force) {
    throw new Oci2LxcError("usage", "Cannot use --replace-any without --force: it only widens what --force replaces");
  }
  const cwd = options.cwd ?? Deno.cwd();
  const absDest = resolve(cwd, dest);
  const target = realTarget(absDest);
  const exists = lstatOrUndefined(target) !== undefined;
  const protectedDir = isSystemDir(target) || isSystemDir(absDest);
  if (options.format === "pve") {
    if (protectedDir) {
      throw new Oci2LxcError("destination", `Cannot write Proxmox VE output into ${target}: it is a system directory`, {
        hint: "Pass a directory of its own for the template and conf, e.g. /var/tmp/NAME",
      });
    }
    return { absDest, target, exists };
  }
  if (!exists) return { absDest, target, exists };
  if (!options.force) {
    if (options.dryRun) return { absDest, target, exists };
    throw new Oci2LxcError("destination", `Cannot write ${absDest}: it already exists`, {
      hint: "Use --force to replace it (only once the new container is complete)",
    });
  }
  if (protectedDir) {
    throw new Oci2LxcError("destination", `Cannot replace ${target}: it is a system directory`, {
      hint: "Pass the container's own directory, e.g. /var/lib/lxc/NAME; --force never replaces this one",
    });
  }
  const realCwd = realOrSelf(cwd);
  if (realCwd === target || realCwd.startsWith(`${target}/`)) {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${target}: it is the working directory${realCwd === target ? "" : ` or holds it (${realCwd})`}`,
      { hint: "Pass the container's own directory, e.g. /var/lib/lxc/NAME; --force never replaces this one" },
    );
  }
  const mounts = mountsUnder(target);
  if (mounts.length > 0) {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${target}: ${mounts.slice(0, 3).join(", ")}${mounts.length > 3 ? ", …" : ""} is mounted in it`,
      { hint: "Stop the container or unmount it first (see /proc/self/mountinfo); --force never crosses a mount" },
    );
  }
  if (isRunningContainer(target)) {
    throw new Oci2LxcError("destination", `Cannot replace ${target}: LXC reports the container running`, {
      hint: `Stop it first: lxc-stop -P ${dirname(target)} -n ${basename(target)}`,
    });
  }
  if (!options.replaceAny && !looksLikeContainer(target)) {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${target}: it does not look like a container (no config or rootfs in it)`,
      { hint: "Check DEST; if it really is to be replaced, add --replace-any to --force" },
    );
  }
  return { absDest, target, exists };
}

function isSystemDir(path: string): boolean {
  return SYSTEM_DIRS.has(path) || /^\/lib[^/]*$/.test(path);
}

/** The entry a rename at `absDest` acts on: the real parent (symlinks resolved) plus the last name as it is. */
function realTarget(absDest: string): string {
  if (absDest === "/") return "/";
  const parent = realOrSelf(dirname(absDest));
  return `${parent === "/" ? "" : parent}/${basename(absDest)}`;
}

function realOrSelf(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    // A missing parent: resolve the part that exists, keep the rest as written.
    const parent = dirname(path);
    if (parent === path) return path;
    const real = realOrSelf(parent);
    return `${real === "/" ? "" : real}/${basename(path)}`;
  }
}

function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

/** A container we or LXC made has a `config` or a `rootfs`; an empty directory holds nothing to lose. */
function looksLikeContainer(target: string): boolean {
  const info = lstatOrUndefined(target);
  if (info === undefined || !info.isDirectory) return false;
  if (lstatOrUndefined(`${target}/config`) || lstatOrUndefined(`${target}/rootfs`)) return true;
  try {
    for (const _ of Deno.readDirSync(target)) return false;
  } catch {
    return false; // unreadable: nothing says it is ours
  }
  return true;
}

/**
 * The mount points at or below `target` in this process's mount namespace (/proc/self/mountinfo, field 5, with its
 * octal escapes decoded).
 */
export function mountsUnder(target: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field === undefined) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === target || point.startsWith(`${target}/`)) found.push(point);
  }
  return found;
}

/**
 * Whether LXC runs DEST as a container (lxcpath DEST's parent, name DEST's base name), asked with `lxc-info`; false
 * without a `config` or without LXC.
 */
function isRunningContainer(target: string): boolean {
  if (lstatOrUndefined(`${target}/config`) === undefined) return false;
  try {
    const out = new Deno.Command("lxc-info", {
      args: ["-P", dirname(target), "-n", basename(target), "-s", "-H"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success && new TextDecoder().decode(out.stdout).trim() === "RUNNING";
  } catch {
    return false; // no lxc-info: no LXC to run it
  }
}
