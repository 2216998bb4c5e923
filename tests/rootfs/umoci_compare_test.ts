/**
 * Differential tests: the same layers unpacked by `umoci unpack
 * --keep-dirlinks` and by RootfsWriter must give the same manifest
 * (fsManifest without times). Skipped when umoci is not installed.
 *
 * Cases stay within what umoci 0.4.7 (Debian 12) handles; where we differ on
 * purpose (`X/.wh..`, non-directory parents, trusted.* xattrs, owners of
 * implicit parents under an idmap) other tests
 * pin our behaviour.
 */

import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import type { IdMap } from "../../core/rootfs/id_map.ts";
import { apply, dir, file, hardlink, type Layer, node, symlink, whiteout } from "./_layers.ts";
import { writeOciLayout } from "./_oci_image.ts";
import { systemTest } from "../_helpers/tier.ts";

function hasUmoci(): boolean {
  try {
    return new Deno.Command("umoci", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

const umoci = hasUmoci();
const cap = new Uint8Array([
  0x01,
  0x00,
  0x00,
  0x02,
  0x00,
  0x20,
  0x00,
  0x00,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

const cases: { name: string; layers: Layer[]; idmap?: IdMap }[] = [
  {
    name: "a small distribution tree",
    layers: [[
      dir("bin"),
      file("bin/busybox", "#!busybox", { mode: 0o4755 }),
      hardlink("bin/sh", "bin/busybox"),
      symlink("bin/ls", "busybox"),
      file("bin/ping", "ping", {
        mode: 0o755,
        xattrs: { "security.capability": cap },
      }),
      dir("etc", { mode: 0o755 }),
      file("etc/shadow", "root:*:", { mode: 0o640, gid: 42 }),
      dir("tmp", { mode: 0o1777 }),
      dir("home/user", { uid: 1000, gid: 1000, mode: 0o700 }),
      file("home/user/.profile", "x", {
        uid: 1000,
        gid: 1000,
        xattrs: { "user.note": new Uint8Array([0, 0xff]) },
      }),
      node("char", "dev/null", 1, 3, { mode: 0o666 }),
      node("block", "dev/sda", 8, 0, { mode: 0o660, gid: 6 }),
      node("fifo", "run/fifo", 0, 0, { mode: 0o620 }),
      file("opt/big-ids", "x", { uid: 100000, gid: 4_000_000_000 }),
      dir("locked", { mode: 0 }),
      file("locked/f", "f", { mode: 0 }),
      file(new Uint8Array([0x62, 0xff, 0x0a, 0x09, 0x5c]), "weird name"),
    ]],
  },
  {
    name: "replacements across layers and keep-dirlinks",
    layers: [
      [
        dir("usr/lib"),
        file("usr/lib/a", "a"),
        symlink("lib", "usr/lib"),
        file("etc/a", "1"),
        dir("etc/b"),
        file("etc/b/x", "x"),
        symlink("etc/c", "b"),
        dir("etc/d"),
      ],
      [
        dir("lib"),
        file("lib/b", "b"),
        dir("etc/a"),
        file("etc/b", "2"),
        file("etc/c", "3"),
        symlink("etc/d", "b"),
      ],
    ],
  },
  {
    name: "whiteouts and order-aware opaque directories",
    layers: [
      [
        dir("etc"),
        file("etc/a", "a"),
        file("etc/b", "b"),
        dir("d"),
        file("d/old", "o"),
        dir("d/olddir"),
        file("d/olddir/x", "x"),
        symlink("link", "etc"),
        dir("keep"),
        file("keep/k", "k"),
        symlink("viadir", "keep"),
      ],
      [
        file("etc/a", "A"),
        whiteout(".wh.etc"),
        dir("d"),
        file("d/new", "n"),
        whiteout("d/.wh..wh..opq"),
        file("d/after", "a"),
        whiteout(".wh.link"),
        whiteout("viadir/.wh.k"),
        whiteout(".wh.missing"),
      ],
    ],
  },
  {
    name: "hardlinks whose first name a later layer deletes",
    layers: [[file("a", "content"), hardlink("b", "a"), hardlink("c", "a")], [
      whiteout(".wh.a"),
    ]],
  },
  {
    name: "a dangling parent symlink and implicit parents",
    layers: [[symlink("localetc", "dne"), file("x/y/z", "deep")], [
      file("localetc/foo", "x"),
    ]],
  },
  {
    // umoci leaves implicit parents owned by host root (0:0); we map them, so
    // this case names every directory.
    name: "an idmap shift",
    layers: [[
      dir("home"),
      dir("home/u", { uid: 1000, gid: 1000 }),
      file("home/u/f", "x", { uid: 1000, gid: 100 }),
      symlink("l", "x"),
    ]],
    idmap: {
      uid: [{ container: 0, host: 100000, size: 65536 }],
      gid: [{ container: 0, host: 100000, size: 65536 }],
    },
  },
];

for (const c of cases) {
  systemTest({
    name: `RootfsWriter matches umoci unpack --keep-dirlinks: ${c.name}`,
    ignore: !umoci,
    fn() {
      const base = Deno.makeTempDirSync({ prefix: "oci2lxc-umoci-" });
      try {
        writeOciLayout(`${base}/image`, c.layers);
        const args = [
          "unpack",
          "--keep-dirlinks",
          "--image",
          `${base}/image:latest`,
        ];
        for (const kind of ["uid", "gid"] as const) {
          for (const r of c.idmap?.[kind] ?? []) {
            args.push(`--${kind}-map`, `${r.container}:${r.host}:${r.size}`);
          }
        }
        const out = new Deno.Command("umoci", {
          args: [...args, `${base}/bundle`],
          stdout: "piped",
          stderr: "piped",
        })
          .outputSync();
        if (!out.success) {
          throw new Error(
            `umoci failed: ${new TextDecoder().decode(out.stderr)}`,
          );
        }
        for (const userspaceResolver of [false, true]) {
          const ours = `${base}/ours-${userspaceResolver}`;
          apply(ours, c.layers, {
            userspaceResolver,
            ...(c.idmap ? { idmap: c.idmap } : {}),
          });
          assert.deepEqual(
            fsManifest(ours).split("\n"),
            fsManifest(`${base}/bundle/rootfs`).split("\n"),
          );
        }
      } finally {
        Deno.removeSync(base, { recursive: true });
      }
    },
  });
}
