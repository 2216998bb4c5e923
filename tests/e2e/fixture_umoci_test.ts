/**
 * The rootfs we produce from each fixture image, in each form umoci 0.4.7
 * can read (after skopeo converted it to a single-platform gzip OCI dir,
 * as lxc-oci does), compared with `umoci unpack --keep-dirlinks` (as Incus
 * runs it) through the filesystem manifest: path, type, mode, owner, size,
 * content hash, link target, xattrs, hardlink groups and device numbers.
 */
import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { FIXTURES, run, withTempDir } from "../_helpers/oci_builder.ts";
import { cli } from "./_cli.ts";

/** Our reference form → what skopeo makes umoci's input from. */
const CASES: Array<[ours: string, skopeoSource: string, extra: string[]]> = [
  ["oci:fixtures/images/busybox.oci-dir", "oci:fixtures/images/busybox.oci-dir:latest", []],
  ["oci-archive:fixtures/images/busybox.oci.tar", "oci-archive:fixtures/images/busybox.oci.tar:latest", []],
  ["docker-archive:fixtures/images/busybox.docker.tar", "docker-archive:fixtures/images/busybox.docker.tar", []],
  ["oci-archive:fixtures/images/busybox.zstd.oci.tar", "oci-archive:fixtures/images/busybox.zstd.oci.tar:latest", [
    "--dest-compress-format",
    "gzip",
  ]],
  [
    "oci-archive:fixtures/images/busybox.uncompressed.oci.tar",
    "oci-archive:fixtures/images/busybox.uncompressed.oci.tar:latest",
    [],
  ],
  [
    "oci-archive:fixtures/images/busybox.multiarch.oci.tar",
    "oci-archive:fixtures/images/busybox.multiarch.oci.tar:latest",
    [
      "--override-arch",
      "amd64",
    ],
  ],
  ["oci-archive:fixtures/images/whiteouts.oci.tar", "oci-archive:fixtures/images/whiteouts.oci.tar:latest", []],
  ["oci:fixtures/images/hardcases.oci-dir", "oci:fixtures/images/hardcases.oci-dir:latest", []],
  ["oci-archive:fixtures/images/hardcases.oci.tar", "oci-archive:fixtures/images/hardcases.oci.tar:latest", []],
];

for (const [ours, source, extra] of CASES) {
  Deno.test(`convert ${ours.replace("fixtures/images/", "")} gives the same rootfs as skopeo + umoci unpack --keep-dirlinks`, async () => {
    void FIXTURES;
    await withTempDir(async (dir) => {
      await run(["skopeo", "copy", "--quiet", ...extra, source, `oci:${dir}/layout:latest`]);
      await run(["umoci", "unpack", "--keep-dirlinks", "--image", `${dir}/layout:latest`, `${dir}/bundle`]);
      const r = await cli("main.ts", ["convert", ours, `${dir}/ct`, "--quiet", "--platform", "linux/amd64"]);
      assert.deepEqual(r.code, 0, r.stderr);
      const theirs = fsManifest(`${dir}/bundle/rootfs`);
      const mine = fsManifest(`${dir}/ct/rootfs`);
      // Not a vacuous match: the busybox rootfs alone has a few hundred entries.
      assert.deepEqual(mine.split("\n").length > 250, true, `only ${mine.split("\n").length} lines`);
      if (mine !== theirs) {
        const a = new Set(theirs.split("\n"));
        const b = new Set(mine.split("\n"));
        const onlyUmoci = [...a].filter((l) => !b.has(l)).slice(0, 20);
        const onlyOurs = [...b].filter((l) => !a.has(l)).slice(0, 20);
        throw new Error(
          `rootfs differs from umoci's\nonly umoci:\n${onlyUmoci.join("\n")}\nonly ours:\n${onlyOurs.join("\n")}`,
        );
      }
    });
  });
}
