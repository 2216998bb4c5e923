/**
 * Tiny root filesystems in temp dirs for planner tests.
 *
 * @module
 */
import { directoryRootfsReader, type RootfsReader } from "../../core/plan/rootfs_reader.ts";

/** A file's text, a symlink target, or an empty directory. */
export type RootfsSpec = Record<
  string,
  string | { link: string } | { dir: true }
>;

/** A temp rootfs that removes itself. */
export interface TempRootfs extends Disposable {
  readonly path: string;
  readonly reader: RootfsReader;
}

/** Build a rootfs from `spec` (container paths → contents). */
export function tempRootfs(spec: RootfsSpec = {}): TempRootfs {
  const path = Deno.makeTempDirSync({ prefix: "oci2lxc-plan-test-" });
  for (const [p, v] of Object.entries(spec)) {
    const host = path + p;
    Deno.mkdirSync(host.slice(0, host.lastIndexOf("/")), { recursive: true });
    if (typeof v === "string") Deno.writeTextFileSync(host, v);
    else if ("link" in v) Deno.symlinkSync(v.link, host);
    else Deno.mkdirSync(host, { recursive: true });
  }
  return {
    path,
    reader: directoryRootfsReader(path),
    [Symbol.dispose]() {
      Deno.removeSync(path, { recursive: true });
    },
  };
}

/** A Debian-like passwd and group. */
export const DEBIAN_USERS: RootfsSpec = {
  "/etc/passwd": [
    "root:x:0:0:root:/root:/bin/bash",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
    "app:x:1000:1000:App:/home/app:/bin/sh",
    "nohome:x:1001:1001:::/bin/sh",
    "",
  ].join("\n"),
  "/etc/group": [
    "root:x:0:",
    "daemon:x:1:",
    "www-data:x:33:app",
    "app:x:1000:",
    "audio:x:29:nohome,app",
    "video:x:44:app",
    "again:x:44:app",
    "",
  ].join("\n"),
};
