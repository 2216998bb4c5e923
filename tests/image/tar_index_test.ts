import assert from "node:assert/strict";
import { TarIndex } from "../../core/image/tar_index.ts";
import { run, withTempDir } from "../_helpers/oci_builder.ts";
import { Oci2LxcError } from "../../core/errors.ts";

Deno.test("TarIndex finds members with or without ./, and through symlink and hardlink members", async () => {
  await withTempDir(async (dir) => {
    const src = `${dir}/src`;
    Deno.mkdirSync(`${src}/abc`, { recursive: true });
    Deno.writeTextFileSync(`${src}/blob.tar`, "layer bytes");
    // What podman save writes: <id>/layer.tar is a symlink to ../<hex>.tar
    Deno.symlinkSync("../blob.tar", `${src}/abc/layer.tar`);
    Deno.linkSync(`${src}/blob.tar`, `${src}/hard.tar`);
    Deno.symlinkSync("loop2", `${src}/loop1`);
    Deno.symlinkSync("loop1", `${src}/loop2`);
    await run([
      "tar",
      "--format=gnu",
      "-C",
      src,
      "-cf",
      `${dir}/a.tar`,
      "./blob.tar",
      "./abc",
      "./hard.tar",
      "./loop1",
      "./loop2",
    ]);
    const index = TarIndex.open(`${dir}/a.tar`);
    const direct = index.get("blob.tar")!;
    assert.deepEqual(direct.size, "layer bytes".length);
    assert.deepEqual(index.get("./blob.tar"), direct);
    assert.deepEqual(index.get("abc/layer.tar"), direct);
    assert.deepEqual(index.get("hard.tar"), direct);
    assert.deepEqual(index.get("loop1"), undefined);
    const bytes = Deno.readFileSync(`${dir}/a.tar`).subarray(direct.offset, direct.offset + direct.size);
    assert.deepEqual(new TextDecoder().decode(bytes), "layer bytes");
  });
});

Deno.test("TarIndex refuses a file that is not a tar, naming it", async () => {
  await withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/x.tar`, "not a tar ".repeat(100));
    assert.throws(() => TarIndex.open(`${dir}/x.tar`), (err) => {
      assert(err instanceof Oci2LxcError);
      assert(err.message.startsWith(`Cannot read ${dir}/x.tar: not a tar archive at byte 0`), err.message);
      return true;
    });
  });
});
