/**
 * Which extended attributes from a layer reach the disk, and how values that
 * hold ids are shifted by the idmap.
 *
 * Decisions (documented in docs and tests):
 * - `trusted.*` is skipped with a warning, as containerd does: those names
 *   steer host-side machinery (overlayfs reads `trusted.overlay.*`), and a
 *   container in a user namespace cannot read them anyway.
 * - `security.selinux` and `system.nfs4_acl` are skipped with a warning, as
 *   umoci does: labels and NFS ACLs belong to the host, not the image.
 * - `security.capability` is kept (file capabilities make `ping` work); a v3
 *   capability's root uid is shifted through the uid map.
 * - POSIX ACLs (`system.posix_acl_access`, `system.posix_acl_default`) are
 *   kept with their named user and group entries shifted through the maps.
 *   GNU tar's `SCHILY.acl.*` text records reach here as these xattrs too
 *   (the tar reader converts them, `posix_acl.ts`).
 * - Everything else (`user.*`, other `security.*`) is written as it is.
 *
 * @module
 */

import { type IdMap, mapId } from "./id_map.ts";

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
const VFS_CAP_REVISION_3 = 0x03000000;
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

/**
 * The value to write for `name`, with ids shifted by `idmap`; the value is
 * returned unchanged when nothing needs shifting. Returns a string naming the
 * id that the map does not cover, e.g. `uid 70000`.
 */
export function shiftXattr(
  name: string,
  value: Uint8Array,
  idmap: IdMap | undefined,
): Uint8Array | string {
  if (idmap === undefined) return value;
  if (name === "security.capability") {
    if (value.length < 24) return value;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if (
      (view.getUint32(0, true) & VFS_CAP_REVISION_MASK) !== VFS_CAP_REVISION_3
    ) return value;
    const root = view.getUint32(20, true);
    const host = mapId(idmap.uid, root);
    if (host === undefined) return `uid ${root}`;
    const out = value.slice();
    new DataView(out.buffer).setUint32(20, host, true);
    return out;
  }
  if (
    name === "system.posix_acl_access" || name === "system.posix_acl_default"
  ) {
    if (value.length < 4 || (value.length - 4) % 8 !== 0) return value;
    const out = value.slice();
    const view = new DataView(out.buffer);
    for (let off = 4; off < out.length; off += 8) {
      const tag = view.getUint16(off, true);
      if (tag !== ACL_USER && tag !== ACL_GROUP) continue;
      const id = view.getUint32(off + 4, true);
      const host = mapId(tag === ACL_USER ? idmap.uid : idmap.gid, id);
      if (host === undefined) {
        return `${tag === ACL_USER ? "uid" : "gid"} ${id}`;
      }
      view.setUint32(off + 4, host, true);
    }
    return out;
  }
  return value;
}
