/**
 * Test helpers: layers as arrays of tar entries built in memory, applied with
 * RootfsWriter into temp directories that sit beside a canary file.
 *
 * @module
 */

import type { TarEntry, TarEntryType } from "../../core/tar/tar_entry.ts";
import { type RootfsWarning, RootfsWriter, type RootfsWriterOptions } from "../../core/rootfs/rootfs_writer.ts";

/** One member of an in-memory layer, with its content for regular files. */
export interface Item {
  entry: TarEntry;
  data?: Uint8Array;
}

/** A layer: its members in archive order. */
export type Layer = Item[];

const enc = new TextEncoder();

/** Bytes of a string or the bytes themselves. */
export function b(s: string | Uint8Array): Uint8Array {
  return typeof s === "string" ? enc.encode(s) : s;
}

/** Optional header fields for the builders. */
export interface EntryOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  atime?: number;
  xattrs?: Record<string, Uint8Array | string>;
}

function make(
  type: TarEntryType,
  path: string | Uint8Array,
  opts: EntryOptions,
  extra: Partial<TarEntry> = {},
): TarEntry {
  const xattrs = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(opts.xattrs ?? {})) xattrs.set(k, b(v));
  return {
    path: b(path),
    linkPath: new Uint8Array(0),
    type,
    mode: opts.mode ??
      (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
    uid: opts.uid ?? 0,
    gid: opts.gid ?? 0,
    size: 0,
    mtime: opts.mtime ?? 1_600_000_000,
    atime: opts.atime,
    devMajor: 0,
    devMinor: 0,
    uname: "",
    gname: "",
    xattrs,
    offset: 0,
    ...extra,
  };
}

/** A regular file. */
export function file(
  path: string | Uint8Array,
  content: string | Uint8Array = "",
  opts: EntryOptions = {},
): Item {
  const data = b(content);
  return { entry: make("file", path, opts, { size: data.length }), data };
}

/** A directory. */
export function dir(path: string | Uint8Array, opts: EntryOptions = {}): Item {
  return { entry: make("directory", path, opts) };
}

/** A symlink holding `target` verbatim. */
export function symlink(
  path: string | Uint8Array,
  target: string | Uint8Array,
  opts: EntryOptions = {},
): Item {
  return { entry: make("symlink", path, opts, { linkPath: b(target) }) };
}

/** A hardlink to `target` (a member name). */
export function hardlink(
  path: string | Uint8Array,
  target: string | Uint8Array,
  opts: EntryOptions = {},
): Item {
  return { entry: make("hardlink", path, opts, { linkPath: b(target) }) };
}

/** A character or block device, or a FIFO. */
export function node(
  type: "char" | "block" | "fifo",
  path: string,
  major = 0,
  minor = 0,
  opts: EntryOptions = {},
): Item {
  return {
    entry: make(type, path, { mode: 0o600, ...opts }, {
      devMajor: major,
      devMinor: minor,
    }),
  };
}

/** A whiteout file (empty regular file named `.wh.*`). */
export function whiteout(path: string): Item {
  return file(path);
}

/** Feed layers to a writer the way the tar reader does. */
export function feed(
  writer: RootfsWriter,
  layers: Layer[],
  firstIndex = 1,
): void {
  layers.forEach((layer, i) => {
    writer.beginLayer(`layer ${firstIndex + i}`);
    for (const item of layer) {
      writer.entry(item.entry);
      if (item.data !== undefined) {
        // Split content so multi-chunk writes are exercised.
        const d = item.data;
        for (let off = 0; off < d.length; off += 7) {
          writer.data(d.subarray(off, Math.min(d.length, off + 7)));
        }
      }
      writer.entryEnd();
    }
    writer.endLayer();
  });
}

/** Apply layers into `root`; returns the warnings. */
export function apply(
  root: string,
  layers: Layer[],
  options: RootfsWriterOptions = {},
): RootfsWarning[] {
  const warnings: RootfsWarning[] = [];
  const writer = new RootfsWriter(root, {
    onWarning: (w) => warnings.push(w),
    ...options,
  });
  try {
    feed(writer, layers);
    writer.finish();
  } finally {
    writer.close();
  }
  return warnings;
}

/** A temp area: `base/canary` (a file), `base/outside/` (a dir with a file) and `base/rootfs` (the root). */
export interface Sandbox {
  base: string;
  root: string;
  /** Throws if anything outside the root changed. */
  assertCanaryIntact(): void;
  cleanup(): void;
}

/** Make a sandbox; call cleanup() in a finally. */
export function sandbox(): Sandbox {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-rootfs-" });
  Deno.writeTextFileSync(`${base}/canary`, "canary");
  Deno.mkdirSync(`${base}/outside`);
  Deno.writeTextFileSync(`${base}/outside/keep`, "keep");
  const root = `${base}/rootfs`;
  Deno.mkdirSync(root);
  return {
    base,
    root,
    assertCanaryIntact() {
      const names = [...Deno.readDirSync(base)].map((e) => e.name).sort();
      if (names.join(",") !== "canary,outside,rootfs") {
        throw new Error(`outside the root changed: ${names}`);
      }
      if (Deno.readTextFileSync(`${base}/canary`) !== "canary") {
        throw new Error("canary changed");
      }
      const inner = [...Deno.readDirSync(`${base}/outside`)].map((e) => e.name)
        .join(",");
      if (
        inner !== "keep" ||
        Deno.readTextFileSync(`${base}/outside/keep`) !== "keep"
      ) {
        throw new Error(`outside/ changed: ${inner}`);
      }
      if (!Deno.lstatSync(`${base}/rootfs`).isDirectory) {
        throw new Error("the root is no longer a directory");
      }
    },
    cleanup() {
      Deno.removeSync(base, { recursive: true });
    },
  };
}

/** Run `fn` with a fresh sandbox, once per resolver (openat2, then the userspace walk). */
export function eachResolver(
  fn: (sb: Sandbox, options: RootfsWriterOptions) => void,
): void {
  for (const userspaceResolver of [false, true]) {
    const sb = sandbox();
    try {
      fn(sb, { userspaceResolver });
    } catch (err) {
      throw new Error(
        `${userspaceResolver ? "userspace walk" : "openat2"}: ${err instanceof Error ? err.message : err}`,
        {
          cause: err,
        },
      );
    } finally {
      sb.cleanup();
    }
  }
}

/** lstat that returns null for a missing path. */
export function lstat(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** The names in a directory, sorted. */
export function ls(path: string): string[] {
  return [...Deno.readDirSync(path)].map((e) => e.name).sort();
}
