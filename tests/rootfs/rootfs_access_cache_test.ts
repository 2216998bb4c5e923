/**
 * RootfsAccess keeps ConfinedRoot's cache true: a path below a cached
 * directory is found from that directory's fd, so replacing a symlink that
 * such a path went through must forget the cache.
 */

import assert from "node:assert/strict";
import { RootfsAccess } from "../../core/rootfs/rootfs_access.ts";
import { sandbox } from "./_layers.ts";

Deno.test("RootfsAccess does not find paths through a symlink it replaced by a file or by another symlink", () => {
  const sb = sandbox();
  const root = new RootfsAccess(sb.root);
  try {
    Deno.mkdirSync(`${sb.root}/x/sub`, { recursive: true });
    Deno.mkdirSync(`${sb.root}/y`);
    Deno.writeTextFileSync(`${sb.root}/x/sub/f`, "x");
    Deno.symlinkSync("/x", `${sb.root}/l`);
    Deno.symlinkSync("/x", `${sb.root}/m`);
    assert.deepEqual([root.exists("l/sub/f"), root.exists("m/sub/f")], [true, true]); // "l/sub" and "m/sub" cached
    root.writeFile("l", "now a file");
    root.symlink("/y", "m");
    assert.deepEqual([root.exists("l/sub/f"), root.exists("m/sub/f")], [false, false]);
    assert.deepEqual([root.exists("l/sub/f/g"), root.exists("m/sub/f/g")], [false, false]);
  } finally {
    root.close();
    sb.cleanup();
  }
});
