import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { previousPath, recoverSwap, swapGeneration } from "../../core/update/generation_swap.ts";
import { SWAP_JOURNAL } from "../../core/update/swap_journal.ts";
import { planVolumeMoves } from "../../core/update/volume_moves.ts";
import { cleanStaleLeftovers } from "../../core/rootfs/stale_leftovers.ts";

/** A container directory with a config naming `version` and the volume /data holding `data`. */
function container(dir: string, version: string, data?: string): void {
  Deno.mkdirSync(join(dir, "rootfs/data"), { recursive: true });
  Deno.writeTextFileSync(join(dir, "config"), `# ${version}\n`);
  Deno.writeTextFileSync(join(dir, "rootfs/version"), version);
  if (data !== undefined) Deno.writeTextFileSync(join(dir, "rootfs/data/mine"), data);
}

const read = (path: string) => Deno.readTextFileSync(path);
const exists = (path: string) => {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

Deno.test("swapGeneration() moves the volume data (same inode) and keeps the old generation as the previous one", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "ct");
    const incoming = join(dir, ".ct.oci2lxc-staging-1-1-00000000");
    container(dest, "v1", "data");
    container(incoming, "v2");
    Deno.writeTextFileSync(join(incoming, "rootfs/data/from-image"), "image");
    const ino = Deno.statSync(join(dest, "rootfs/data/mine")).ino;
    const planned = planVolumeMoves(dest, ["/data"], incoming, ["/data"], () => {});
    assert.deepEqual(await swapGeneration(dest, incoming, planned.moves, "keep"), "exchange");
    assert.deepEqual(read(join(dest, "rootfs/version")), "v2");
    assert.deepEqual(Deno.statSync(join(dest, "rootfs/data/mine")).ino, ino);
    assert(!exists(join(dest, "rootfs/data/from-image")), "the image's own volume content gives way to the data");
    assert.deepEqual(read(join(previousPath(dest), "rootfs/version")), "v1");
    assert(!exists(incoming) && !exists(join(dest, SWAP_JOURNAL)));
  });
});

Deno.test("a killed swap's journal keeps its staging directory from the stale clean-up; recoverSwap() moves the data back", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "ct");
    // A dead owner's staging directory, as a kill between the volume moves and the swap leaves it.
    const staging = join(dir, ".ct.oci2lxc-staging-999999999-1-0badcafe");
    container(dest, "v1", "data");
    container(staging, "v2");
    Deno.removeSync(join(staging, "rootfs/data"), { recursive: true });
    Deno.writeTextFileSync(
      join(staging, SWAP_JOURNAL),
      JSON.stringify({ dest, other: staging, moves: [{ from: "rootfs/data", to: "rootfs/data" }], after: "keep" }),
    );
    Deno.renameSync(join(dest, "rootfs/data"), join(staging, "rootfs/data"));
    await cleanStaleLeftovers(dir, "ct");
    assert(exists(join(staging, "rootfs/data/mine")), "the stale clean-up removed the moved data");
    const done = await recoverSwap(dest);
    assert.deepEqual(done.length, 1);
    assert.deepEqual(read(join(dest, "rootfs/data/mine")), "data");
    assert.deepEqual(read(join(dest, "config")), "# v1\n");
    assert(!exists(join(staging, SWAP_JOURNAL)));
  });
});

Deno.test("recoverSwap() finishes a swap that happened: the old generation becomes the previous one", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "ct");
    const other = join(dir, ".ct.oci2lxc-staging-999999999-1-0badcafe");
    container(dest, "v2", "data");
    container(other, "v1");
    container(previousPath(dest), "v0");
    Deno.writeTextFileSync(join(dest, SWAP_JOURNAL), JSON.stringify({ dest, other, moves: [], after: "keep" }));
    await recoverSwap(dest);
    assert.deepEqual(read(join(previousPath(dest), "rootfs/version")), "v1");
    assert(!exists(other) && !exists(join(dest, SWAP_JOURNAL)));
    assert.deepEqual(read(join(dest, "rootfs/data/mine")), "data");
  });
});

Deno.test("planVolumeMoves() keeps a dropped volume aside, brings it back when declared again, and skips symlinks", async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    container(a, "v1", "data");
    container(b, "v2");
    Deno.mkdirSync(join(a, "rootfs/var"), { recursive: true });
    Deno.symlinkSync("/etc", join(a, "rootfs/var/lib"));
    const warnings: string[] = [];
    const planned = planVolumeMoves(a, ["/data", "/var/lib/app"], b, [], (w) => warnings.push(w));
    assert.deepEqual(planned.moves, [{ from: "rootfs/data", to: "volumes-aside/data" }]);
    assert.deepEqual(planned.aside, ["/data"]);
    assert.deepEqual(warnings.length, 1);
    assert(warnings[0]!.includes("symlink"), warnings[0]);
    await swapGeneration(a, b, planned.moves, "keep");
    assert.deepEqual(read(join(a, "volumes-aside/data/mine")), "data");
    const c = join(dir, "c");
    container(c, "v3");
    const back = planVolumeMoves(a, [], c, ["/data"], () => {});
    assert.deepEqual(back.moves, [{ from: "volumes-aside/data", to: "rootfs/data" }]);
    assert.deepEqual(back.carried, ["/data"]);
  });
});

Deno.test("swapGeneration() with drop (--keep 0) removes the old generation and the one kept before it", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "ct");
    container(dest, "v2", "data");
    container(previousPath(dest), "v1");
    const incoming = join(dir, ".ct.oci2lxc-staging-1-1-00000001");
    container(incoming, "v3");
    const planned = planVolumeMoves(dest, ["/data"], incoming, ["/data"], () => {});
    await swapGeneration(dest, incoming, planned.moves, "drop");
    assert.deepEqual(read(join(dest, "rootfs/version")), "v3");
    assert.deepEqual(read(join(dest, "rootfs/data/mine")), "data");
    assert(!exists(incoming) && !exists(previousPath(dest)), "no generation is kept with --keep 0");
  });
});
