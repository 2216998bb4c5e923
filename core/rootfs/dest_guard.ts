/**
 * What DEST may be before a conversion writes or replaces it. `--force` replaces DEST, so it must never reach a
 * directory that is not a container: the system's own directories, the directory the user is in (or one above it), an
 * empty DEST from an unset shell variable, a tree with something mounted in it, or a container LXC is running.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { Oci2LxcError, quoteForMessage } from "../errors.ts";

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

/**
 * The longest DEST name that leaves room for the names beside it within NAME_MAX (255): `.NAME.oci2lxc-staging-` plus
 * a PID (7 digits), a start time (20), 8 hex digits, their dashes and `.old` add 59 bytes.
 */
const MAX_DEST_NAME_BYTES = 255 - 59;

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
  // The working directory's path is needed only to resolve a relative DEST: it may not be UTF-8 (Deno.cwd() throws).
  const cwd = options.cwd ?? (dest.startsWith("/") ? undefined : workingDirectory(dest));
  const absDest = resolve(cwd ?? "/", dest);
  const nameBytes = new TextEncoder().encode(basename(absDest)).length;
  if (nameBytes > MAX_DEST_NAME_BYTES) {
    const name = quoteForMessage(basename(absDest));
    throw new Oci2LxcError(
      "usage",
      `Cannot use DEST ${name}: its name is ${nameBytes} bytes, and the staging directory and lock beside it add up ` +
        "to 59 (a name holds at most 255)",
      { hint: `Choose a DEST whose last component has at most ${MAX_DEST_NAME_BYTES} bytes` },
    );
  }
  const target = realTarget(absDest);
  const info = lstatOrUndefined(target);
  const exists = info !== undefined;
  if (options.format === "pve") {
    // Written into, so a symlink counts as the directory it leads to.
    const system = isSystemDir(target) || isSystemDir(absDest) ? target : systemDirAt(statOrUndefined(target));
    if (system !== undefined) {
      throw new Oci2LxcError(
        "destination",
        `Cannot write Proxmox VE output into ${target}: ${systemText(target, system)}`,
        {
          hint: "Pass a directory of its own for the template and conf, e.g. /var/tmp/NAME",
        },
      );
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
  // Replaced as an entry, so a symlink is only a link; a bind mount or an alias path (/usr/lib for /lib) of a system
  // directory is the directory itself, found by its device and inode.
  const system = isSystemDir(target) || isSystemDir(absDest) ? target : systemDirAt(info);
  if (system !== undefined) {
    throw new Oci2LxcError("destination", `Cannot replace ${target}: ${systemText(target, system)}`, {
      hint: "Pass the container's own directory, e.g. /var/lib/lxc/NAME; --force never replaces this one",
    });
  }
  const realCwd = cwd === undefined ? undefined : realOrSelf(cwd);
  const chain = isCwdOrAncestor(info, cwd ?? ".");
  const isCwd = realCwd === target || chain === "itself";
  if (isCwd || realCwd?.startsWith(`${target}/`) || chain === "ancestor") {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${target}: it is the working directory${
        isCwd ? "" : ` or holds it${realCwd ? ` (${realCwd})` : ""}`
      }`,
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
  // Started with another LXC path (a symlink to DEST's parent), LXC says nothing: its init still has its root here.
  const inside = processRootedIn(target);
  if (inside !== undefined) {
    throw new Oci2LxcError("destination", `Cannot replace ${target}: ${inside} has its root in ${target}/rootfs`, {
      hint:
        `Stop it first (a running container: lxc-stop -n ${basename(target)} -P LXCPATH, with the LXC path it was ` +
        "started with)",
    });
  }
  if (!options.replaceAny && info?.isSymlink) {
    // A container directory moved to other storage and linked back is common; the commit would replace the link.
    const real = realOrSelf(target);
    throw new Oci2LxcError("destination", `Cannot replace ${target}: it is a symlink (to ${real})`, {
      hint: `With --force the link itself is replaced, not what it leads to: pass ${real} as DEST to replace that, ` +
        "or add --replace-any to replace the link with a new directory",
    });
  }
  // --replace-any widens --force to any directory or file; a device node, FIFO or socket (/dev/null) is never a
  // container, and replacing one breaks whoever uses it.
  const special = info?.isCharDevice
    ? "a character device"
    : info?.isBlockDevice
    ? "a block device"
    : info?.isFifo
    ? "a FIFO"
    : info?.isSocket
    ? "a socket"
    : undefined;
  if (special !== undefined) {
    throw new Oci2LxcError("destination", `Cannot replace ${target}: it is ${special}, not a container`, {
      hint: "Pass the container's own directory, e.g. /var/lib/lxc/NAME; --force never replaces this one",
    });
  }
  const held = options.replaceAny ? [] : containersIn(target);
  if (held.length > 0) {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${target}: it holds containers (${held.slice(0, 3).join(", ")}${held.length > 3 ? ", …" : ""})`,
      { hint: "Pass one container's directory (LXCPATH/NAME), not the LXC path; --replace-any replaces it all" },
    );
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

function systemText(target: string, system: string): string {
  return system === target ? "it is a system directory" : `it is the system directory ${system} (by another path)`;
}

/** `dev:ino` of a file, the identity that bind mounts and symlinked paths share. */
function identity(info: Deno.FileInfo | undefined): string | undefined {
  return info === undefined || info.ino === null ? undefined : `${info.dev}:${info.ino}`;
}

/** The system directory that `info` is (seen through a symlink such as /lib → usr/lib), or undefined. */
function systemDirAt(info: Deno.FileInfo | undefined): string | undefined {
  const id = identity(info);
  if (id === undefined || !info?.isDirectory) return undefined;
  let libs: string[] = [];
  try {
    libs = [...Deno.readDirSync("/")].map((e) => `/${e.name}`).filter((p) => isSystemDir(p));
  } catch {
    // no listing of /: the fixed names are checked still
  }
  for (const dir of [...SYSTEM_DIRS, ...libs]) {
    if (identity(statOrUndefined(dir)) === id) return dir;
  }
  return undefined;
}

/**
 * Whether `info` is the working directory `cwd` or one above it, by identity (a bind mount of it has another path). The
 * walk goes up through `..`, so it needs no path text of the working directory.
 */
function isCwdOrAncestor(info: Deno.FileInfo | undefined, cwd: string): "itself" | "ancestor" | undefined {
  const id = identity(info);
  if (id === undefined || !info?.isDirectory) return undefined;
  let previous: string | undefined;
  // Bounded: PATH_MAX allows at most 2048 levels ("a/" each).
  for (let dir = cwd, level = 0; level <= 2048; dir = `${dir}/..`, level++) {
    const here = identity(statOrUndefined(dir));
    if (here === id) return level === 0 ? "itself" : "ancestor";
    if (here === undefined || here === previous) return undefined; // `/..` is `/`: the top
    previous = here;
  }
  return undefined;
}

/**
 * The working directory's path, for a relative DEST.
 *
 * @throws {Oci2LxcError} code "destination" when it has no UTF-8 path (or is gone): an absolute DEST still works
 */
export function workingDirectory(dest: string): string {
  try {
    return Deno.cwd();
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot resolve DEST ${dest}: the working directory cannot be named`, {
      cause: err,
      hint: `Pass DEST as an absolute path (the working directory's path is not valid UTF-8, or it was removed)`,
    });
  }
}

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch {
    return undefined;
  }
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

/**
 * A container we or LXC made has a `config` file or a `rootfs`; an empty directory holds nothing to lose. (A directory
 * named `config` is a container of an LXC path, see {@linkcode containersIn}.)
 */
function looksLikeContainer(target: string): boolean {
  const info = lstatOrUndefined(target);
  if (info === undefined || !info.isDirectory) return false;
  const config = lstatOrUndefined(`${target}/config`);
  if ((config !== undefined && !config.isDirectory) || lstatOrUndefined(`${target}/rootfs`)) return true;
  try {
    for (const _ of Deno.readDirSync(target)) return false;
  } catch {
    return false; // unreadable: nothing says it is ours
  }
  return true;
}

/**
 * Up to four subdirectories of `dir` that are containers themselves (a `config` file and a `rootfs` directory): `dir`
 * is then an LXC path, and one of them may be named `config` or `rootfs`.
 */
function containersIn(dir: string): string[] {
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isDirectory) continue;
      const config = lstatOrUndefined(`${dir}/${entry.name}/config`);
      if (config?.isFile && lstatOrUndefined(`${dir}/${entry.name}/rootfs`)?.isDirectory) found.push(entry.name);
      if (found.length === 4) break;
    }
  } catch {
    // unreadable: looksLikeContainer refuses it
  }
  return found;
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
 * A process whose root directory is DEST's rootfs (`/proc/PID/root`, compared by device and inode), as "process PID
 * (COMM)": a running container, whatever LXC path it was started with (lxc-info only knows the one it is asked
 * about), or a chroot. Processes whose root cannot be read are skipped.
 */
function processRootedIn(target: string): string | undefined {
  const rootfs = lstatOrUndefined(`${target}/rootfs`);
  if (rootfs === undefined || !rootfs.isDirectory) return undefined; // a symlinked rootfs is removed as a link
  const id = identity(rootfs);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc")];
  } catch {
    return undefined; // no /proc: lxc-info below is all there is
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (identity(statOrUndefined(`/proc/${entry.name}/root`)) !== id) continue;
    let comm = "?";
    try {
      comm = Deno.readTextFileSync(`/proc/${entry.name}/comm`).trim();
    } catch {
      // gone meanwhile: it was there
    }
    return `process ${entry.name} (${comm})`;
  }
  return undefined;
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
