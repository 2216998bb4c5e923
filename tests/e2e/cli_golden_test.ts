/**
 * Golden tests of what people read: every command's --help, a usage error, a
 * verification failure and the --dry-run plan of two fixtures, from the real
 * CLI (main.ts and the bundle), compared with committed text under golden/.
 * inspect and verify --help are held by cli_read_test.ts.
 */
import assert from "node:assert/strict";
import { flipByte, withTempDir } from "../_helpers/oci_builder.ts";
import { assertGolden, cli, ENTRIES } from "./_cli.ts";

const FIX = "fixtures/images/";

/** Replace the temp dir (which changes every run) by `$TMP`. */
function normalise(text: string, dir: string): string {
  return text.replaceAll(dir, "$TMP");
}

for (const entry of ENTRIES) {
  for (
    const args of [
      ["--help"],
      ["convert", "--help"],
      ["update", "--help"],
      ["pull", "--help"],
      ["plugins", "--help"],
      ["version", "--help"],
    ]
  ) {
    const name = args.length === 1 ? "main" : args[0]!;
    Deno.test(`[${entry}] ${args.join(" ")} matches its golden text`, async () => {
      const r = await cli(entry, args);
      assert.deepEqual(r.code, 0, r.stderr);
      assert.deepEqual(r.stderr, "");
      await assertGolden(`help_${name}.txt`, r.stdout);
    });
  }

  Deno.test(`[${entry}] convert without DEST names what is missing, prints the usage and exits 2`, async () => {
    const r = await cli(entry, ["convert", `${FIX}busybox.oci.tar`]);
    assert.deepEqual(r.code, 2);
    assert.deepEqual(r.stdout, "");
    await assertGolden("usage_error_convert.txt", r.stderr);
  });

  Deno.test(`[${entry}] verify of a damaged archive lists the mismatch and exits 4 (digest)`, async () => {
    await withTempDir(async (dir) => {
      await Deno.copyFile(`${FIX}busybox.oci.tar`, `${dir}/busybox.oci.tar`);
      // The layer blob is nearly all of the archive: the middle byte is in it.
      await flipByte(`${dir}/busybox.oci.tar`, Math.floor(Deno.statSync(`${dir}/busybox.oci.tar`).size / 2));
      const r = await cli(entry, ["verify", `oci-archive:${dir}/busybox.oci.tar`]);
      assert.deepEqual(r.code, 4, r.stderr);
      await assertGolden(
        "verify_failure.txt",
        normalise(`--- stdout\n${r.stdout}--- stderr\n${r.stderr}`, dir),
      );
    });
  });

  for (const image of ["busybox", "hardcases"]) {
    Deno.test(`[${entry}] convert --dry-run of ${image}.oci.tar prints the plan in its golden form`, async () => {
      await withTempDir(async (dir) => {
        // The LXC version decides some warnings: fixed, so the plan is the same on every host.
        const args = ["convert", `${FIX}${image}.oci.tar`, `${dir}/${image}`, "--dry-run", "--lxc-version", "5.0.2"];
        const r = await cli(entry, args);
        assert.deepEqual(r.code, 0, r.stderr);
        assert.deepEqual(r.stderr, "", "the human plan carries the warnings itself");
        await assertGolden(`plan_${image}.txt`, normalise(r.stdout, dir));
        assert.deepEqual([...Deno.readDirSync(dir)], [], "a dry run leaves nothing beside DEST");
      });
    });
  }
}
