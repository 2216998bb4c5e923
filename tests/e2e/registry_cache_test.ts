/**
 * The blob cache, mirrors and `--max-parallel` from the command line (main.ts and the bundle) against a real registry:
 * a second `convert` downloads no blob (the registry's access log), `--pull=never` converts with the registry stopped,
 * `cache list` shows the image, `--registry-mirror` serves a convert, and bad values are usage errors (exit 2).
 */
import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { convert } from "../../core/api.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { cli, ENTRIES } from "./_cli.ts";

const FIXTURE = new URL("../../fixtures/images/busybox.oci.tar", import.meta.url).pathname;
const LAYER = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] convert docker:// twice with --cache-dir: the second downloads no blob; --pull=never offline`, async () => {
    await withTempDir(async (dir) => {
      await convert(`oci-archive:${FIXTURE}`, `${dir}/fixture`, { platform: "linux/amd64" });
      const expected = fsManifest(`${dir}/fixture/rootfs`);
      const common = ["--platform", "linux/amd64", "--tls-verify=false", "--quiet", "--cache-dir", `${dir}/cache`];
      let image: string;
      {
        await using registry = await startRegistry("http");
        await registry.seed("busybox.oci.tar", "busybox:1");
        image = `docker://${registry.host}/busybox:1`;
        const first = await cli(entry, ["convert", image, `${dir}/a`, "--max-parallel", "2", ...common]);
        assert.deepEqual(first.code, 0, first.stderr);
        const gets = registry.blobGets();
        assert(gets.includes(LAYER), gets.join(" "));
        const second = await cli(entry, ["convert", image, `${dir}/b`, ...common]);
        assert.deepEqual(second.code, 0, second.stderr);
        assert.deepEqual(registry.blobGets(), gets, "the second convert downloaded no blob");
        assert.deepEqual(fsManifest(`${dir}/b/rootfs`), expected);
      }
      const offline = await cli(entry, ["convert", image, `${dir}/c`, "--pull=never", ...common]);
      assert.deepEqual(offline.code, 0, offline.stderr);
      assert.deepEqual(fsManifest(`${dir}/c/rootfs`), expected);
      const listed = await cli(entry, ["cache", "list", "--cache-dir", `${dir}/cache`]);
      assert.deepEqual(listed.code, 0, listed.stderr);
      assert(listed.stdout.includes(image.slice("docker://".length)), listed.stdout);
    });
  });

  Deno.test(`[${entry}] convert --registry-mirror pulls through the mirror; a mirror that is down falls back with a warning`, async () => {
    await using upstream = await startRegistry("http");
    await upstream.seed("busybox.oci.tar", "busybox:1");
    await using mirror = await startRegistry("http", { proxyRemoteUrl: `http://${upstream.host}` });
    await withTempDir(async (dir) => {
      const args = ["convert", `docker://${upstream.host}/busybox:1`, `${dir}/a`, "--platform", "linux/amd64"];
      const r = await cli(entry, [...args, "--tls-verify=false", "--no-cache", "--registry-mirror", mirror.host]);
      assert.deepEqual(r.code, 0, r.stderr);
      assert(mirror.blobGets().includes(LAYER), "the mirror served the layer");
      assert(!r.stderr.includes("mirror"), `no fallback: ${r.stderr}`);
      // A mirror that is down: the registry serves, and a warning says so.
      const down = await cli(entry, [
        ...args.slice(0, 2),
        `${dir}/b`,
        ...args.slice(3),
        "--tls-verify=false",
        "--no-cache",
        "--registry-mirror",
        "127.0.0.1:1",
      ]);
      assert.deepEqual(down.code, 0, down.stderr);
      assert(/^warning: mirror 127\.0\.0\.1:1 failed, pulling from /m.test(down.stderr), down.stderr);
    });
  });

  Deno.test(`[${entry}] bad cache, mirror and --max-parallel values are usage errors`, async () => {
    for (
      const [bad, words] of [
        [["--max-parallel", "0"], /--max-parallel/],
        [["--pull=never", "--no-cache"], /--pull=never with --no-cache/],
        [["--pull=sometimes"], /--pull/],
        [["--registry-mirror", "http://m:5000"], /--registry-mirror/],
      ] as const
    ) {
      const r = await cli(entry, ["convert", "docker://127.0.0.1:1/x:1", "/tmp/oci2lxc-never-written", ...bad]);
      assert.deepEqual(r.code, 2, r.stderr);
      assert(words.test(r.stderr), r.stderr);
    }
  });
}
