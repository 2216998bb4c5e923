import assert from "node:assert/strict";
import { flipByte, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { assertGolden, cli, ENTRIES } from "./_cli.ts";

const FIX = "fixtures/images/";

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] inspect --json prints the config digest and exits 0`, async () => {
    const r = await cli(entry, ["inspect", `oci-archive:${FIX}busybox.oci.tar`, "--json", "--platform", "linux/amd64"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.config.digest, "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9");
    assert.deepEqual(report.layers.length, 1);
  });

  Deno.test(`[${entry}] verify exits 4 (digest) and names the damaged layer`, async () => {
    await withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/img`);
      for (const e of Deno.readDirSync(`${FIX}busybox.oci-dir`)) {
        if (e.isFile) await Deno.copyFile(`${FIX}busybox.oci-dir/${e.name}`, `${dir}/img/${e.name}`);
      }
      await Deno.mkdir(`${dir}/img/blobs/sha256`, { recursive: true });
      for (const e of Deno.readDirSync(`${FIX}busybox.oci-dir/blobs/sha256`)) {
        await Deno.copyFile(`${FIX}busybox.oci-dir/blobs/sha256/${e.name}`, `${dir}/img/blobs/sha256/${e.name}`);
      }
      const layer = "1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";
      await flipByte(`${dir}/img/blobs/sha256/${layer}`, 4096);
      const r = await cli(entry, ["verify", `oci:${dir}/img`, "--platform", "linux/amd64"]);
      assert.deepEqual(r.code, 4, r.stderr);
      assert(r.stderr.includes(`error: Cannot verify layer 1/1 (sha256:1e1101c055c7)`), r.stderr);
      assert(!r.stderr.includes("Stack backtrace"), r.stderr);
    });
  });

  Deno.test(`[${entry}] a usage error prints the short usage and exits 2`, async () => {
    const r = await cli(entry, ["inspect"]);
    assert.deepEqual(r.code, 2);
    await assertGolden("usage_error_inspect.txt", r.stderr);
    const unknown = await cli(entry, ["inspect", "x", "--bogus"]);
    assert.deepEqual(unknown.code, 2);
    assert(
      unknown.stderr.startsWith("error: Cannot parse arguments of inspect: Unknown option '--bogus'"),
      unknown.stderr,
    );
  });

  Deno.test(`[${entry}] a missing file is one error line with a hint, no backtrace`, async () => {
    const r = await cli(entry, ["inspect", "oci-archive:/nonexistent/x.tar"]);
    assert.deepEqual(r.code, 3);
    assert.deepEqual(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert(lines[0]!.startsWith("error: Cannot open image /nonexistent/x.tar:"), r.stderr);
    assert(lines[1]!.startsWith("hint: "), r.stderr);
    assert.deepEqual(lines.length, 2);
  });

  for (const command of ["inspect", "verify"]) {
    Deno.test(`[${entry}] ${command} --help matches its golden text`, async () => {
      const r = await cli(entry, [command, "--help"]);
      assert.deepEqual(r.code, 0);
      await assertGolden(`help_${command}.txt`, r.stdout);
    });
  }
}

Deno.test("inspect and the convert report show an image's ref name with its control characters escaped", async () => {
  await withTempDir(async (dir) => {
    // The ref name comes from the image's index (an annotation): ESC, C1 CSI and CR would reach the terminal.
    await writeOciDir(`${dir}/img`, [{ tar: layerTar([file("bin/true", "")]), compression: "none" }], {
      Cmd: ["/bin/true"],
    }, { refName: "v1\u001b]0;pwned\u0007\u009b2J\rX" });
    const inspect = await cli("main.ts", ["inspect", `oci:${dir}/img`]);
    const dry = await cli("main.ts", ["convert", `oci:${dir}/img`, `${dir}/ct`, "--dry-run", "--quiet"]);
    for (const r of [inspect, dry]) {
      assert.deepEqual(r.code, 0, r.stderr);
      // deno-lint-ignore no-control-regex
      assert(!/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(r.stdout), JSON.stringify(r.stdout));
      assert(r.stdout.includes("v1\\x1b]0;pwned\\x07\\x9b2J\\rX"), r.stdout);
    }
  });
});
