/**
 * Read-only, confined access to a root filesystem: all the planner needs from the rootfs (passwd, group, init and shell
 * detection, whether a directory is empty). Paths are absolute paths as the container sees them; symlinks are resolved
 * inside the root and can never lead out of it.
 *
 * @module
 */

/** Confined, read-only view of a rootfs, by container paths. */
export interface RootfsReader {
  /** The bytes of a regular file, following symlinks inside the root; `undefined` if missing or not a file. */
  readFile(path: string): Uint8Array | undefined;
  /** Whether the path exists (after following symlinks inside the root). */
  exists(path: string): boolean;
  /** Whether a directory is empty; `undefined` if missing or not a directory. */
  isDirEmpty(path: string): boolean | undefined;
  /**
   * The path with every symlink resolved inside the root (e.g. `/sbin/init` → `/lib/systemd/systemd`), or `undefined`
   * when it does not exist. Optional: without it the planner only knows the path as written.
   */
  realPath?(path: string): string | undefined;
}

const MAX_HOPS = 40; // Linux's MAXSYMLINKS

interface Resolved {
  /** Components inside the root, already free of symlinks. */
  readonly parts: readonly string[];
  readonly info: Deno.FileInfo;
}

function hostPath(root: string, parts: readonly string[]): string {
  return parts.length === 0 ? root : `${root}/${parts.join("/")}`;
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Resolve `path` inside `root` component by component: `..` stops at the root, an absolute link target starts again at
 * the root, a relative one continues from the link's directory, and at most 40 links are followed.
 */
function resolve(root: string, path: string): Resolved | undefined {
  const parts: string[] = [];
  const todo = path.split("/").filter((p) => p !== "" && p !== ".").reverse();
  let hops = 0;
  let info = lstat(root);
  if (!info?.isDirectory) return undefined;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === ".") continue;
    if (name === "..") {
      parts.pop();
      info = lstat(hostPath(root, parts));
      continue;
    }
    if (!info?.isDirectory) return undefined; // a non-directory in the middle
    const next = lstat(hostPath(root, [...parts, name]));
    if (!next) return undefined;
    if (next.isSymlink) {
      if (++hops > MAX_HOPS) return undefined;
      let target: string;
      try {
        target = Deno.readLinkSync(hostPath(root, [...parts, name]));
      } catch {
        return undefined;
      }
      if (target.startsWith("/")) parts.length = 0;
      todo.push(
        ...target.split("/").filter((p) => p !== "" && p !== ".").reverse(),
      );
      info = lstat(hostPath(root, parts));
      continue;
    }
    parts.push(name);
    info = next;
  }
  if (!info) return undefined;
  return { parts, info };
}

/**
 * A {@linkcode RootfsReader} over a directory on the host, for tests and for reading an assembled rootfs. It uses
 * Deno's string path APIs, which is fine for the ASCII paths the planner asks about.
 *
 * @example Reading passwd through a symlinked /etc
 * ```ts
 * import assert from "node:assert/strict";
 * import { directoryRootfsReader } from "./rootfs_reader.ts";
 * const root = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${root}/real-etc`);
 * Deno.writeTextFileSync(`${root}/real-etc/passwd`, "root:x:0:0::/root:/bin/sh\n");
 * Deno.symlinkSync("/real-etc", `${root}/etc`);
 * const reader = directoryRootfsReader(root);
 * assert(new TextDecoder().decode(reader.readFile("/etc/passwd")).startsWith("root:"));
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function directoryRootfsReader(root: string): RootfsReader {
  const base = root.length > 1 ? root.replace(/\/+$/, "") : root;
  return {
    readFile(path: string): Uint8Array | undefined {
      const r = resolve(base, path);
      if (!r?.info.isFile) return undefined;
      try {
        return Deno.readFileSync(hostPath(base, r.parts));
      } catch {
        return undefined;
      }
    },
    exists(path: string): boolean {
      return resolve(base, path) !== undefined;
    },
    isDirEmpty(path: string): boolean | undefined {
      const r = resolve(base, path);
      if (!r?.info.isDirectory) return undefined;
      for (const _ of Deno.readDirSync(hostPath(base, r.parts))) return false;
      return true;
    },
    realPath(path: string): string | undefined {
      const r = resolve(base, path);
      return r ? "/" + r.parts.join("/") : undefined;
    },
  };
}
