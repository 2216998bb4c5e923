/**
 * An unprivileged (idmapped) container updates with the new image's owners shifted by the same map and the volume
 * data untouched (same inode, owner and mode), and starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { buildAppImages } from "../update/_app_image.ts";
import { cli } from "./_cli.ts";
import { sh } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

Deno.test("an idmapped container updates with owners shifted and its volume data untouched, and starts", async () => {
  await withTempDir(async (dir) => {
    // The container's root (host uid 100000) must be able to reach its rootfs.
    Deno.chmodSync(dir, 0o755);
    const { v1, v2 } = await buildAppImages(dir);
    const lxcpath = join(dir, "lxc");
    const name = `o2l-updu-${crypto.randomUUID().slice(0, 6)}`;
    const dest = join(lxcpath, name);
    const converted = await cli("main.ts", ["convert", `oci:${v1.dir}`, dest, "--unprivileged", "--quiet"]);
    assert.deepEqual(converted.code, 0, converted.stderr);
    Deno.chmodSync(lxcpath, 0o755);
    const mine = join(dest, "rootfs/data/mine");
    Deno.writeTextFileSync(mine, "my data\n");
    Deno.chownSync(mine, 101234, 104321);
    Deno.chmodSync(mine, 0o600);
    const before = Deno.statSync(mine);

    const updated = await cli("main.ts", ["update", dest, `oci:${v2.dir}`, "--json", "--quiet"]);
    assert.deepEqual(updated.code, 0, updated.stderr);
    const report = JSON.parse(updated.stdout);
    assert.deepEqual(report.conversion.container.idmap.uid, [{ container: 0, host: 100000, size: 65536 }]);
    const after = Deno.statSync(mine);
    assert.deepEqual([after.ino, after.uid, after.gid, after.mode! & 0o7777], [before.ino, 101234, 104321, 0o600]);
    const version = Deno.statSync(join(dest, "rootfs/app/new.txt"));
    assert.deepEqual([version.uid, version.gid], [100000, 100000]);
    assert.deepEqual(Deno.readTextFileSync(join(dest, "config")).includes("lxc.idmap = u 0 100000 65536"), true);

    const started = await sh(["lxc-start", "-n", name, "-P", lxcpath, "-d"]);
    try {
      assert.deepEqual(started.code, 0, started.out);
      const seen = await waitFor("the app of v2", 30_000, () => {
        try {
          return Deno.readTextFileSync(join(dest, "rootfs/data/seen-2"));
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(seen.includes("version=2"), true, seen);
      // Written by the container's root: host uid 100000.
      assert.deepEqual(Deno.statSync(join(dest, "rootfs/data/seen-2")).uid, 100000);
    } finally {
      await sh(["lxc-stop", "-n", name, "-P", lxcpath, "-k"]);
    }
  });
});
