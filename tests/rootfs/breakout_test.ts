/**
 * containerd's breakout list, each run with openat2 and with the userspace
 * walk: nothing outside the root may change, whatever the layer says.
 */

import assert from "node:assert/strict";
import { apply, dir, eachResolver, file, hardlink, type Layer, ls, lstat, node, symlink, whiteout } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

const HOST_PROBE = "/etc/oci2lxc-breakout-probe";

interface Case {
  name: string;
  layers: Layer[];
  /** A regex the error must match, when the layers must fail. */
  fails?: RegExp;
  /** Checks inside the root after success. */
  check?: (root: string) => void;
}

const cases: Case[] = [
  {
    name: "absolute symlink parent",
    layers: [[
      symlink("localetc", "/etc"),
      file("localetc/oci2lxc-breakout-probe", "x"),
    ]],
    check: (root) =>
      assert.deepEqual(
        Deno.readTextFileSync(`${root}/etc/oci2lxc-breakout-probe`),
        "x",
      ),
  },
  {
    name: "relative symlink parent climbing out",
    layers: [[
      symlink("up", "../../../../../.."),
      file("up/canary", "pwned"),
      file("up/outside/keep", "pwned"),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["canary", "outside", "up"]),
  },
  {
    name: "symlink to the sibling directory outside",
    layers: [[
      symlink("o", "../outside"),
      file("o/keep", "pwned"),
      node("fifo", "o/fifo"),
      dir("o/newdir"),
    ]],
    check: (root) => assert.deepEqual(ls(`${root}/outside`), ["fifo", "keep", "newdir"]),
  },
  {
    name: "'..' in names",
    layers: [[
      file("../canary", "pwned"),
      file("a/../../outside/keep", "pwned"),
      dir("../../x"),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["canary", "outside", "x"]),
  },
  {
    name: "absolute names",
    layers: [[
      file("/canary", "pwned"),
      dir("/outside"),
      file("/outside/keep", "pwned"),
    ]],
    check: (root) => assert.deepEqual(Deno.readTextFileSync(`${root}/canary`), "pwned"),
  },
  {
    name: "absolute hardlink outward",
    layers: [[hardlink("passwd", "/etc/passwd")]],
    fails: /hardlink target \/etc\/passwd does not exist/,
  },
  {
    name: "relative hardlink outward",
    layers: [[hardlink("c", "../canary")]],
    fails: /hardlink target \.\.\/canary does not exist/,
  },
  {
    name: "hardlink through a symlink pointing outward",
    layers: [[symlink("up", "../.."), hardlink("c", "up/canary")]],
    fails: /hardlink target up\/canary does not exist/,
  },
  {
    name: "hardlink through a symlink to host /etc",
    layers: [[symlink("e", "/etc"), hardlink("pw", "e/passwd")]],
    fails: /hardlink target e\/passwd does not exist/,
  },
  {
    name: "whiteout through an escaping symlink",
    layers: [[symlink("up", "../.."), symlink("o", "../outside")], [
      whiteout("up/.wh.canary"),
      whiteout("o/.wh.keep"),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["o", "up"]),
  },
  {
    name: "whiteout with '..' and absolute names",
    layers: [[file("x", "x")], [
      whiteout("../.wh.canary"),
      whiteout("/../../.wh.outside"),
      whiteout("a/../../.wh.rootfs"),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["x"]),
  },
  {
    name: "opaque whiteout through an escaping symlink",
    layers: [[symlink("o", "../outside")], [whiteout("o/.wh..wh..opq")]],
  },
  {
    name: "whiteout of the root and of its parent",
    layers: [[file("x", "x")], [
      whiteout(".wh.."),
      whiteout(".wh..."),
      whiteout("/.wh.."),
      whiteout("../.wh.."),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["x"]),
  },
  {
    name: "replacing the root entry",
    layers: [[
      symlink(".", "/"),
      symlink("/", "/"),
      file("./", "x"),
      hardlink(".", "x"),
      file("inside", "i"),
    ]],
    check: (root) => assert.deepEqual(ls(root), ["inside"]),
  },
  {
    name: "symlink loop as a parent",
    layers: [[symlink("a", "b"), symlink("b", "a"), file("a/x", "x")]],
    fails: /ELOOP/,
  },
  {
    name: "self-referencing symlink as a parent",
    layers: [[symlink("loop", "loop"), file("loop/x", "x")]],
    fails: /ELOOP/,
  },
  {
    name: "whiteout through a symlink loop",
    layers: [[symlink("a", "b"), symlink("b", "a")], [whiteout("a/.wh.x")]],
    fails: /ELOOP/,
  },
  {
    name: "directory entry over a symlink pointing outward",
    layers: [[symlink("o", "../outside")], [
      dir("o", { mode: 0o700 }),
      file("o/keep", "mine"),
    ]],
    // The link dangles inside the root, so the directory replaces it.
    check: (root) => assert.deepEqual(Deno.readTextFileSync(`${root}/o/keep`), "mine"),
  },
];

for (const c of cases) {
  systemTest(`RootfsWriter keeps the host untouched: ${c.name}`, () => {
    eachResolver((sb, opts) => {
      if (c.fails) {
        assert.throws(() => apply(sb.root, c.layers, opts), { message: c.fails });
      } else {
        apply(sb.root, c.layers, opts);
        c.check?.(sb.root);
      }
      sb.assertCanaryIntact();
      assert.deepEqual(
        Deno.statSync(`${sb.base}/canary`).nlink,
        1,
        "no hardlink to the canary",
      );
      assert.deepEqual(lstat(HOST_PROBE), null, "host /etc untouched");
      assert(lstat("/etc/passwd")?.isFile, "host /etc/passwd still there");
    });
  });
}
