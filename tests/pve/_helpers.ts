/**
 * Helpers for the Proxmox output tests: reading archives back through our
 * TarParser, running GNU tar and zstd, and a source tree with every hard
 * case a rootfs can hold.
 *
 * @module
 */
import type { TarEntry } from "../../core/tar/tar_entry.ts";
import { TarParser } from "../../core/tar/tar_parser.ts";
import { apply, dir, file, hardlink, node, symlink } from "../rootfs/_layers.ts";

/** A member as read back: the entry and its content. */
export interface ReadMember {
  entry: TarEntry;
  data: Uint8Array;
}

/** Latin-1 view of bytes: one char per byte, so names that are not UTF-8 compare exactly. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Bytes of a latin-1 string (one byte per char). */
export function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Concatenate chunks. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parse a whole tar archive with our TarParser, fed in chunks of `chunk` bytes. */
export function readTar(archive: Uint8Array, chunk = 4096): { members: ReadMember[]; warnings: string[] } {
  const members: ReadMember[] = [];
  const warnings: string[] = [];
  let parts: Uint8Array[] = [];
  let current: TarEntry | undefined;
  const parser = new TarParser({
    entry(entry) {
      current = entry;
      parts = [];
      if (entry.type !== "file") members.push({ entry, data: new Uint8Array(0) });
    },
    data(c) {
      parts.push(c.slice());
    },
    entryEnd() {
      if (current?.type === "file") members.push({ entry: current, data: concat(parts) });
    },
  }, { name: "test archive", onWarning: (w) => warnings.push(w) });
  for (let at = 0; at < archive.length; at += chunk) parser.push(archive.subarray(at, at + chunk));
  parser.finish();
  return { members, warnings };
}

/** Run a program; fails the test on a non-zero exit. */
export function run(cmd: string, args: string[]): { stdout: Uint8Array; stderr: string } {
  const out = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).outputSync();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${stderr}`);
  return { stdout: out.stdout, stderr };
}

/** The extraction pct runs for a template (PVE::LXC::Create, COMMON_TAR_FLAGS), as root, not in a user namespace. */
export function pctExtract(template: string, into: string): void {
  Deno.mkdirSync(into, { recursive: true });
  run("tar", [
    "xpf",
    template,
    "--zstd",
    "--totals",
    "--one-file-system",
    "-p",
    "--sparse",
    "--numeric-owner",
    "--acls",
    "--xattrs",
    "--xattrs-include=user.*",
    "--xattrs-include=security.capability",
    "--warning=no-file-ignored",
    "--warning=no-xattr-write",
    "-C",
    into,
    "--skip-old-files",
    "--anchored",
    "--exclude",
    "./dev/*",
  ]);
}

/** `zstd -dc FILE`. */
export function unzstd(path: string): Uint8Array {
  return run("zstd", ["-q", "-d", "-c", path]).stdout;
}

/** The 300-byte path of the hard-case tree, in three directory levels. */
export const LONG_DIRS = ["d".repeat(120), "e".repeat(120)];
export const LONG_FILE = "f".repeat(58);
export const LONG_PATH = `${LONG_DIRS.join("/")}/${LONG_FILE}`;

/** A name that is not UTF-8 and holds a newline. */
export const ODD_NAME = bytesOf("odd\n\xff\xfename");

/** A v2 file capability granting cap_net_raw (bit 13), effective. */
export const CAP_NET_RAW_V2 = (() => {
  const v = new Uint8Array(20);
  const view = new DataView(v.buffer);
  view.setUint32(0, 0x02000001, true);
  view.setUint32(4, 1 << 13, true);
  return v;
})();

/**
 * Build the hard-case tree in `root` through the rootfs writer (which shifts
 * owners and capabilities when given an id map): hardlinks, symlinks, a
 * FIFO, a char device, setuid, user.* and security.capability xattrs, uid
 * 100000, a name that is not UTF-8 with a newline, a 300-byte path,
 * nanosecond-ish mtimes.
 */
export function buildHardTree(root: string, options: Parameters<typeof apply>[2] = {}): void {
  const enc = new TextEncoder();
  const oddPath = new Uint8Array([...enc.encode("names/"), ...ODD_NAME]);
  apply(root, [[
    dir("bin", { mtime: 1_700_000_000.25 }),
    file("bin/tool", "#!/bin/sh\necho tool\n", { mode: 0o4755, mtime: 1_700_000_001.5 }),
    hardlink("bin/tool-again", "bin/tool"),
    file("bin/ping", "ping\n", { mode: 0o755, xattrs: { "security.capability": CAP_NET_RAW_V2 } }),
    symlink("bin/sh", "tool"),
    symlink("bin/dangling", "../nowhere"),
    dir("dev"),
    node("char", "dev/null", 1, 3, { mode: 0o666 }),
    node("fifo", "run-fifo", 0, 0, { mode: 0o644 }),
    dir("home/app", { uid: 1000, gid: 1000, mode: 0o750 }),
    file("home/app/notes", "user data\n", {
      uid: 1000,
      gid: 1000,
      xattrs: { "user.origin": "oci2lxc", "user.bin": new Uint8Array([0, 1, 0xff, 0x0a]) },
    }),
    file("big-owner", "u100000\n", { uid: 100000, gid: 100000 }),
    dir("names"),
    file(oddPath, "odd\n"),
    file("names/with space", "space\n"),
    file(`${LONG_PATH}`, "deep\n", { mtime: 1_600_000_000 }),
    symlink("long-link", LONG_PATH),
    file("empty", ""),
    dir("tmp", { mode: 0o1777 }),
  ]], options);
}
