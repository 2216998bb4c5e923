import assert from "node:assert/strict";
import { MountPointInTreeError, removeTree, removeTreeAsync } from "../../core/rootfs/remove_tree.ts";
import { createStaging } from "../../core/rootfs/staging.ts";
import { AT_FDCWD, close, O_DIRECTORY, O_PATH, openat } from "../../core/native/libc.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

async function sh(...args: string[]): Promise<void> {
  const r = await new Deno.Command(args[0]!, { args: args.slice(1), stderr: "piped" }).output();
  if (!r.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** Unmount everything at or below `dir`, deepest first (also what a broken removal moved). */
async function unmountUnder(dir: string): Promise<void> {
  const points = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const p of points) await sh("umount", p);
}

function ls(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

systemTest("removeTree never enters a bind mount of the same filesystem nor unlinks a bind-mounted file", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/host/sub`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/host/sub/data`, "host data");
    Deno.writeTextFileSync(`${dir}/hostfile`, "host file");
    Deno.mkdirSync(`${dir}/tree/a/mnt`, { recursive: true });
    Deno.mkdirSync(`${dir}/tree/b/c`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/tree/b/c/f`, "x");
    Deno.writeTextFileSync(`${dir}/tree/a/file`, "");
    Deno.writeTextFileSync(`${dir}/tree/a/other`, "x");
    await sh("mount", "--bind", `${dir}/host`, `${dir}/tree/a/mnt`);
    await sh("mount", "--bind", `${dir}/hostfile`, `${dir}/tree/a/file`);
    try {
      assert.throws(() => removeTree(AT_FDCWD, new TextEncoder().encode(`${dir}/tree`)), (err: unknown) => {
        assert.ok(err instanceof MountPointInTreeError);
        assert.deepEqual([...err.mountPoints].sort(), ["a/file", "a/mnt"]);
        return true;
      });
      assert.deepEqual(Deno.readTextFileSync(`${dir}/host/sub/data`), "host data");
      assert.deepEqual(Deno.readTextFileSync(`${dir}/hostfile`), "host file");
      // Everything else went; the mount points and the directories above them stay.
      assert.deepEqual(ls(`${dir}/tree`), ["a"]);
      assert.deepEqual(ls(`${dir}/tree/a`), ["file", "mnt"]);
    } finally {
      await unmountUnder(dir);
    }
  });
});

systemTest(
  "Staging.commit with force keeps a mount that appeared in the old DEST and reports the new one in place",
  async () => {
    await withTempDir(async (dir) => {
      Deno.mkdirSync(`${dir}/host`);
      Deno.writeTextFileSync(`${dir}/host/data`, "host data");
      Deno.mkdirSync(`${dir}/ct/rootfs/mnt`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/ct/config`, "old");
      const staging = createStaging(`${dir}/ct`);
      Deno.writeTextFileSync(`${staging.path}/config`, "new");
      // Mounted after any check before the commit could have looked.
      await sh("mount", "--bind", `${dir}/host`, `${dir}/ct/rootfs/mnt`);
      try {
        const result = await staging.commit(true);
        assert.deepEqual(Deno.readTextFileSync(`${dir}/ct/config`), "new");
        assert.deepEqual(Deno.readTextFileSync(`${dir}/host/data`), "host data");
        assert.deepEqual(result.leftover, staging.path);
        assert.deepEqual(result.problem, "rootfs/mnt is a mount point; not crossed");
        assert.deepEqual(ls(`${staging.path}`), ["rootfs"]);
        assert.deepEqual(Deno.readTextFileSync(`${staging.path}/rootfs/mnt/data`), "host data");
      } finally {
        await unmountUnder(dir);
      }
      assert(Deno.readTextFileSync(`${dir}/host/data`) === "host data");
    });
  },
);

Deno.test("removeTreeAsync stops when a directory it climbs back to was moved out of the tree, and removes nothing outside", async () => {
  await withTempDir(async (dir) => {
    // Deeper than the walk keeps fds open (128): it climbs back through "..", which a rename during a pause (someone
    // else writing in DEST's parent, e.g. a leftover planted in a shared directory) would point outside the tree.
    let deep = `${dir}/tree`;
    for (let i = 1; i <= 134; i++) deep += `/d${i}`;
    Deno.mkdirSync(`${deep}/a`, { recursive: true });
    for (let i = 0; i < 300; i++) Deno.writeTextFileSync(`${deep}/a/f${i}`, "");
    Deno.mkdirSync(`${dir}/w/v`, { recursive: true });
    Deno.mkdirSync(`${dir}/w/d133`); // outside the tree, named like the parent of the moved directory
    let moved = false;
    // The walk reads `aborted` after each pause: once a's files are gone it pauses inside a, with d134's fd closed.
    const signal = {
      get aborted() {
        if (!moved && !existsPath(`${deep}/a/f0`)) {
          Deno.renameSync(deep, `${dir}/w/v/d134`);
          moved = true;
        }
        return false;
      },
    } as AbortSignal;
    const fd = openat(AT_FDCWD, new TextEncoder().encode(dir), O_PATH | O_DIRECTORY);
    let error: unknown;
    try {
      await removeTreeAsync(fd, new TextEncoder().encode("tree"), { signal });
    } catch (err) {
      error = err;
    } finally {
      close(fd);
    }
    assert(moved, "the walk paused inside a");
    assert(existsPath(`${dir}/w/d133`), `a directory outside the tree was removed (the walk ended with ${error})`);
    assert(error instanceof Error && /moved/.test(error.message), String(error));
  });
});

function existsPath(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
