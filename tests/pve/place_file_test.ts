/**
 * The last step of a `--format pve` write: the finished file takes its name without replacing one that appeared there
 * meanwhile (after the check before any work), with `renameat2(RENAME_NOREPLACE)` and with the link a filesystem
 * without rename flags gets. Runs as a normal user.
 */
import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { placeFile } from "../../core/pve/place_file.ts";
import { writePveTemplate } from "../../core/pve/pve_template.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { assertUntouched, userFile } from "./_user_files.ts";

for (const withoutRenameFlags of [false, true]) {
  const how = withoutRenameFlags ? "a hard link (no rename flags)" : "renameat2(RENAME_NOREPLACE)";
  Deno.test(`placeFile with ${how} leaves a file that is at the name, and the partial file to its caller`, async () => {
    await withTempDir((dir) => {
      userFile(`${dir}/120.conf`, "# edited by hand\n");
      Deno.writeTextFileSync(`${dir}/120.conf.partial`, "new\n");
      let err: unknown;
      try {
        placeFile(`${dir}/120.conf.partial`, `${dir}/120.conf`, { withoutRenameFlags });
      } catch (e) {
        err = e;
      }
      assert(err instanceof Oci2LxcError, String(err));
      assert.equal(err.code, "destination");
      assert.equal(err.exitCode, 9);
      assert.equal(err.message, `Cannot write ${dir}/120.conf: it already exists`);
      assert.match(err.hint ?? "", /^Pass --force to replace it/);
      assertUntouched(`${dir}/120.conf`, "# edited by hand\n");
      assert.equal(Deno.readTextFileSync(`${dir}/120.conf.partial`), "new\n");
    });
  });

  Deno.test(`placeFile with ${how} puts the file at a free name and no partial name stays`, async () => {
    await withTempDir((dir) => {
      Deno.writeTextFileSync(`${dir}/121.conf.partial`, "new\n");
      placeFile(`${dir}/121.conf.partial`, `${dir}/121.conf`, { withoutRenameFlags });
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["121.conf"]);
      assert.equal(Deno.readTextFileSync(`${dir}/121.conf`), "new\n");
    });
  });
}

Deno.test("placeFile with replace (--force) replaces the file at the name", async () => {
  await withTempDir((dir) => {
    userFile(`${dir}/120.conf`, "old\n");
    Deno.writeTextFileSync(`${dir}/120.conf.partial`, "new\n");
    placeFile(`${dir}/120.conf.partial`, `${dir}/120.conf`, { replace: true });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["120.conf"]);
    assert.equal(Deno.readTextFileSync(`${dir}/120.conf`), "new\n");
  });
});

Deno.test("writePveTemplate leaves a file at OUT as it was, and no partial template, unless replace", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/rootfs/etc`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/rootfs/etc/hostname`, "web\n");
    Deno.mkdirSync(`${dir}/out`);
    const out = `${dir}/out/web.tar.zst`;
    userFile(out, "another image's template\n");
    await assert.rejects(
      () => writePveTemplate(`${dir}/rootfs`, out),
      /Cannot write .*web\.tar\.zst: it already exists/,
    );
    assertUntouched(out, "another image's template\n");
    assert.deepEqual([...Deno.readDirSync(`${dir}/out`)].map((e) => e.name), ["web.tar.zst"]);

    const { bytes } = await writePveTemplate(`${dir}/rootfs`, out, { replace: true });
    assert.equal(Deno.statSync(out).size, bytes);
    assert.deepEqual([...Deno.readFileSync(out).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
  });
});
