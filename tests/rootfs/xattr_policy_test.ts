import assert from "node:assert/strict";
import { type IdMap, mapId, unmapId } from "../../core/rootfs/id_map.ts";
import { shiftXattr, unshiftXattr } from "../../core/rootfs/xattr_policy.ts";

const idmap: IdMap = {
  uid: [{ container: 0, host: 100000, size: 65536 }],
  gid: [{ container: 0, host: 200000, size: 65536 }],
};

/** A v3 file capability (24 bytes) whose root uid is `root`. */
function capV3(root: number): Uint8Array {
  const value = new Uint8Array(24);
  const view = new DataView(value.buffer);
  view.setUint32(0, 0x03000000 | 1, true); // revision 3, effective
  view.setUint32(4, 1 << 13, true); // CAP_NET_RAW permitted
  view.setUint32(20, root, true);
  return value;
}

/** A POSIX ACL xattr: version 2, then (tag, perm, id) entries. */
function acl(entries: [tag: number, perm: number, id: number][]): Uint8Array {
  const value = new Uint8Array(4 + 8 * entries.length);
  const view = new DataView(value.buffer);
  view.setUint32(0, 2, true);
  entries.forEach(([tag, perm, id], i) => {
    view.setUint16(4 + 8 * i, tag, true);
    view.setUint16(6 + 8 * i, perm, true);
    view.setUint32(8 + 8 * i, id, true);
  });
  return value;
}

const UNDEFINED_ID = 0xffffffff;

Deno.test("mapId and unmapId are the two directions of one map", () => {
  for (const id of [0, 33, 65535]) assert.equal(unmapId(idmap.uid, mapId(idmap.uid, id)!), id);
  assert.equal(mapId(idmap.uid, 65536), undefined);
  assert.equal(unmapId(idmap.uid, 99999), undefined);
  assert.equal(unmapId(idmap.uid, 165536), undefined);
});

Deno.test("unshiftXattr takes back what shiftXattr did to ACL ids, and names an id outside the map", () => {
  const value = acl([[0x01, 6, UNDEFINED_ID], [0x02, 4, 1000], [0x04, 4, UNDEFINED_ID], [0x08, 4, 33], [
    0x20,
    0,
    UNDEFINED_ID,
  ]]);
  const shifted = shiftXattr("system.posix_acl_access", value, idmap);
  assert.ok(shifted instanceof Uint8Array);
  const view = new DataView(shifted.buffer);
  assert.equal(view.getUint32(8 + 8 * 1, true), 101000);
  assert.equal(view.getUint32(8 + 8 * 3, true), 200033);
  assert.deepEqual(unshiftXattr("system.posix_acl_access", shifted, idmap), value);
  assert.deepEqual(shiftXattr("system.posix_acl_default", acl([[0x08, 4, 70000]]), idmap), { kind: "gid", id: 70000 });
  assert.deepEqual(unshiftXattr("system.posix_acl_default", acl([[0x02, 4, 1000]]), idmap), { kind: "uid", id: 1000 });
});

Deno.test("unshiftXattr gives a v3 capability its container root back, and the container's own root a v2 one", () => {
  const shifted = shiftXattr("security.capability", capV3(1000), idmap);
  assert.ok(shifted instanceof Uint8Array);
  assert.equal(new DataView(shifted.buffer).getUint32(20, true), 101000);
  assert.deepEqual(unshiftXattr("security.capability", shifted, idmap), capV3(1000));

  const root = unshiftXattr("security.capability", capV3(100000), idmap);
  assert.ok(root instanceof Uint8Array);
  assert.equal(root.length, 20);
  const view = new DataView(root.buffer);
  assert.equal(view.getUint32(0, true), 0x02000000 | 1);
  assert.deepEqual(root.subarray(4), capV3(0).subarray(4, 20));
  assert.deepEqual(unshiftXattr("security.capability", capV3(5), idmap), { kind: "uid", id: 5 });
});

Deno.test("shiftXattr and unshiftXattr leave other names and values they do not understand as they are", () => {
  const user = new TextEncoder().encode("anything");
  assert.equal(shiftXattr("user.x", user, idmap), user);
  assert.equal(unshiftXattr("user.x", user, idmap), user);
  const short = new Uint8Array(20);
  assert.equal(unshiftXattr("security.capability", short, idmap), short);
  const ragged = new Uint8Array(7);
  assert.equal(shiftXattr("system.posix_acl_access", ragged, idmap), ragged);
});
