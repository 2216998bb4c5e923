/**
 * Which extended attributes from a layer reach the disk, and how values that hold ids are shifted by the idmap (and
 * back, for a template made from the rootfs).
 *
 * Decisions (documented in docs and tests):
 * - `trusted.*` is skipped with a warning, as containerd does: those names steer host-side machinery (overlayfs reads
 *   `trusted.overlay.*`), and a container in a user namespace cannot read them anyway.
 * - `security.selinux` and `system.nfs4_acl` are skipped with a warning, as umoci does: labels and NFS ACLs belong to
 *   the host, not the image.
 * - `security.capability` is kept (file capabilities make `ping` work); a v3 capability's root uid is shifted through
 *   the uid map.
 * - POSIX ACLs (`system.posix_acl_access`, `system.posix_acl_default`) are kept with their named user and group entries
 *   shifted through the maps. GNU tar's `SCHILY.acl.*` text records reach here as these xattrs too (the tar reader
 *   converts them, `posix_acl.ts`).
 * - Everything else (`user.*`, other `security.*`) is written as it is.
 *
 * @module
 */

import { type IdMap, mapId, unmapId } from "./id_map.ts";

/** Why an xattr was not written. */
export type XattrSkipReason = "trusted" | "host-specific";

/** Whether an xattr name is written at all; `undefined` means yes. */
export function xattrSkipReason(name: string): XattrSkipReason | undefined {
  if (name.startsWith("trusted.")) return "trusted";
  if (name === "security.selinux" || name === "system.nfs4_acl") {
    return "host-specific";
  }
  return undefined;
}

/** Names never removed from a merged directory either: the host owns them. */
export function xattrIsHostOwned(name: string): boolean {
  return xattrSkipReason(name) !== undefined;
}

const VFS_CAP_REVISION_MASK = 0xff000000;
const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_REVISION_3 = 0x03000000;
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

/** An id inside an xattr value that the id map does not cover. */
export interface UnmappedXattrId {
  readonly kind: "uid" | "gid";
  readonly id: number;
}

/**
 * The value to write for `name`, with the container ids inside it (the root uid of a v3 file capability, the named
 * users and groups of a POSIX ACL) shifted to host ids by `idmap`; the value itself when nothing needs shifting, or
 * the id the map does not cover.
 */
export function shiftXattr(name: string, value: Uint8Array, idmap: IdMap): Uint8Array | UnmappedXattrId {
  return mapXattrIds(name, value, (kind, id) => mapId(idmap[kind], id));
}

/**
 * The reverse of {@linkcode shiftXattr}: host ids inside the value back to container ids, for an archive that is
 * unpacked inside the container's user namespace. A v3 capability whose root becomes the container's root is written
 * as the plain v2 one that the container's own tools would write (the kernel adds the root id on the way in).
 */
export function unshiftXattr(name: string, value: Uint8Array, idmap: IdMap): Uint8Array | UnmappedXattrId {
  const out = mapXattrIds(name, value, (kind, id) => unmapId(idmap[kind], id));
  if (name !== "security.capability" || out === value || !(out instanceof Uint8Array)) return out;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (view.getUint32(20, true) !== 0) return out;
  const v2 = out.slice(0, 20);
  new DataView(v2.buffer).setUint32(0, (view.getUint32(0, true) & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_2, true);
  return v2;
}

/** Rewrite the ids inside a capability or ACL value with `map`, one direction of the id map. */
function mapXattrIds(
  name: string,
  value: Uint8Array,
  map: (kind: "uid" | "gid", id: number) => number | undefined,
): Uint8Array | UnmappedXattrId {
  if (name === "security.capability") {
    if (value.length < 24) return value;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if ((view.getUint32(0, true) & VFS_CAP_REVISION_MASK) !== VFS_CAP_REVISION_3) return value;
    const root = view.getUint32(20, true);
    const mapped = map("uid", root);
    if (mapped === undefined) return { kind: "uid", id: root };
    const out = value.slice();
    new DataView(out.buffer).setUint32(20, mapped, true);
    return out;
  }
  if (name === "system.posix_acl_access" || name === "system.posix_acl_default") {
    if (value.length < 4 || (value.length - 4) % 8 !== 0) return value;
    const out = value.slice();
    const view = new DataView(out.buffer);
    for (let off = 4; off < out.length; off += 8) {
      const tag = view.getUint16(off, true);
      if (tag !== ACL_USER && tag !== ACL_GROUP) continue;
      const kind = tag === ACL_USER ? "uid" : "gid";
      const id = view.getUint32(off + 4, true);
      const mapped = map(kind, id);
      if (mapped === undefined) return { kind, id };
      view.setUint32(off + 4, mapped, true);
    }
    return out;
  }
  return value;
}
