/**
 * The metadata of one layer entry as it reaches the disk: owner (idmap applied), xattrs (policy applied, ids
 * shifted), times, and how failures the writer tolerates become warnings. The rootfs writer and its pieces share one
 * {@linkcode EntryMetadata}, so the layer name, the idmap and the once-only ownership warning live in one place.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { AT_EMPTY_PATH, check, Errno, fchown, fchownat, LibcError, type Timespec } from "../native/libc.ts";
import { displayName, type TarEntry } from "../tar/tar_entry.ts";
import { describeRanges, type IdMap, mapId } from "./id_map.ts";
import { ACL_DEFAULT_XATTR } from "./posix_acl.ts";
import type { RootfsWarning, RootfsWarningCode } from "./rootfs_warning.ts";
import { shiftXattr, xattrSkipReason } from "./xattr_policy.ts";

/** An empty name: `*at` calls with `AT_EMPTY_PATH` act on the fd itself. */
export const EMPTY = new Uint8Array(0);
/** The xattrs of an entry that has none (shared, never written to). */
export const NO_XATTRS: [string, Uint8Array][] = [];
const MAX_ID = 0xfffffffe; // (uid_t)-1 means "leave unchanged" to chown

/** Options for {@linkcode EntryMetadata}. */
export interface EntryMetadataOptions {
  /** Shift owners (and ids inside ACLs and v3 capabilities) from container to host ids. */
  idmap?: IdMap | undefined;
  /** Receives every warning. */
  onWarning: (warning: RootfsWarning) => void;
  /** Not root: skip chown, and tolerate EPERM from setxattr, with warnings. */
  approximate: boolean;
}

/** Owner, xattr and time rules for entries, and the warnings about them. */
export class EntryMetadata {
  readonly idmap: IdMap | undefined;
  readonly approximate: boolean;
  readonly #onWarning: (w: RootfsWarning) => void;
  /** The layer being written, for messages; `undefined` between layers. */
  layer: string | undefined;
  #ownershipWarned = false;

  constructor(options: EntryMetadataOptions) {
    this.idmap = options.idmap;
    this.approximate = options.approximate;
    this.#onWarning = options.onWarning;
  }

  /** Report a warning about `entry` in the current layer. */
  warn(code: RootfsWarningCode, entry: TarEntry, message: string): void {
    this.#onWarning({ code, layer: this.layer ?? "", path: displayName(entry.path), message });
  }

  /** Whether owners are applied; in approximate mode they are not, and the first caller warns once. */
  mayChown(): boolean {
    if (!this.approximate) return true;
    if (!this.#ownershipWarned) {
      this.#ownershipWarned = true;
      this.#onWarning({
        code: "ownership-skipped",
        layer: this.layer ?? "",
        path: "",
        message: "owners were not applied (approximate mode); every file belongs to the current user",
      });
    }
    return false;
  }

  /** chown an fd (O_PATH or not); `plain` says it is a regular open fd. */
  chownFd(fd: number, uid: number, gid: number, plain = false): void {
    if (!this.mayChown()) return;
    check(plain ? fchown(fd, uid, gid) : fchownat(fd, EMPTY, uid, gid, AT_EMPTY_PATH), "fchownat");
  }

  /** The host uid and gid for an entry's owner. */
  owner(entry: TarEntry): [number, number] {
    for (const [kind, id] of [["uid", entry.uid], ["gid", entry.gid]] as const) {
      if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new Error(`${kind} ${id} is not a valid owner`);
    }
    const idmap = this.idmap;
    if (idmap === undefined) return [entry.uid, entry.gid];
    const uid = mapId(idmap.uid, entry.uid);
    if (uid === undefined) throw this.#unmapped(entry, `uid ${entry.uid}`, describeRanges(idmap.uid));
    const gid = mapId(idmap.gid, entry.gid);
    if (gid === undefined) throw this.#unmapped(entry, `gid ${entry.gid}`, describeRanges(idmap.gid));
    return [uid, gid];
  }

  #unmapped(entry: TarEntry, what: string, ranges: string): Oci2LxcError {
    return new Oci2LxcError(
      "rootfs",
      `Cannot map owner of ${displayName(entry.path)} in ${this.layer}: ${what} is outside the idmap (${ranges})`,
      { hint: "Use a wider --idmap" },
    );
  }

  /** The xattrs to write for an entry, policy applied and ids shifted. */
  xattrs(entry: TarEntry): [string, Uint8Array][] {
    if (entry.xattrs.size === 0) return NO_XATTRS;
    const out: [string, Uint8Array][] = [];
    for (const [name, value] of entry.xattrs) {
      if (name.includes("\0")) throw new Error(`xattr name ${JSON.stringify(name)} contains a NUL byte`);
      const skip = xattrSkipReason(name);
      if (skip !== undefined) {
        const why = skip === "trusted" ? "trusted.* attributes are not written" : "host-specific attribute";
        this.warn("xattr-skipped", entry, `xattr ${name} skipped: ${why}`);
        continue;
      }
      if (name === ACL_DEFAULT_XATTR && entry.type !== "directory") {
        // The kernel refuses it (EACCES) and GNU tar sets it on directories only: it means nothing on a file.
        this.warn("xattr-skipped", entry, `xattr ${name} skipped: a default ACL applies to directories only`);
        continue;
      }
      const shifted = this.idmap === undefined ? value : shiftXattr(name, value, this.idmap);
      if (!(shifted instanceof Uint8Array)) {
        const ranges = shifted.kind === "gid" ? this.idmap!.gid : this.idmap!.uid;
        throw this.#unmapped(entry, `${shifted.kind} ${shifted.id} in xattr ${name}`, describeRanges(ranges));
      }
      out.push([name, shifted]);
    }
    return out;
  }

  /** Accept a setxattr result, turning the failures umoci tolerates into warnings. */
  xattrResult(r: number, name: string, entry: TarEntry, regularOrDir: boolean): void {
    if (r >= 0) return;
    const userOnSpecial = r === -Errno.EPERM && name.startsWith("user.") && !regularOrDir;
    if (r === -Errno.EOPNOTSUPP || userOnSpecial || (r === -Errno.EPERM && this.approximate)) {
      this.warn("xattr-skipped", entry, `xattr ${name} skipped: ${new LibcError("setxattr", -r).message}`);
      return;
    }
    check(r, "setxattr", name);
  }
}

/** Seconds (with a fraction) as a timespec. */
export function toTimespec(seconds: number): Timespec {
  if (!Number.isFinite(seconds)) return { sec: 0, nsec: 0 };
  let sec = Math.floor(seconds);
  let nsec = Math.round((seconds - sec) * 1e9);
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return { sec, nsec };
}

/** The access and modification times an entry asks for (atime defaults to mtime). */
export function entryTimes(entry: TarEntry): [Timespec, Timespec] {
  return [toTimespec(entry.atime ?? entry.mtime), toTimespec(entry.mtime)];
}
