import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { apply, dir, file, hardlink, node, sandbox, symlink } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

systemTest(
  "fsManifest lists type, mode, owner, content hash, link targets, hardlink groups, devices and xattrs",
  () => {
    const sb = sandbox();
    try {
      apply(sb.root, [[
        dir("d", {
          mode: 0o1777,
          uid: 5,
          gid: 6,
          xattrs: { "user.b": new Uint8Array([1, 0xff]), "user.a": "A" },
        }),
        file("d/z", "hello", { mode: 0o4755 }),
        hardlink("d/a", "d/z"),
        symlink("s", "d/z"),
        node("char", "c", 1, 3, { mode: 0o666 }),
        node("fifo", "f"),
        file(new Uint8Array([0x6e, 0x20, 0x0a, 0xff, 0x3d, 0x5c]), ""),
      ]]);
      const sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
      const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
      assert.deepEqual(fsManifest(sb.root).split("\n"), [
        "/ dir 0755 0 0",
        "/c char 0666 0 0 dev=1:3",
        "/d dir 1777 5 6 xattr.user.a=41 xattr.user.b=01ff",
        `/d/a file 4755 0 0 size=5 sha256=${sha} hardlink=/d/a`,
        `/d/z file 4755 0 0 size=5 sha256=${sha} hardlink=/d/a`,
        "/f fifo 0600 0 0",
        `/n\\x20\\x0a\\xff\\x3d\\x5c file 0644 0 0 size=0 sha256=${empty}`,
        "/s symlink 0777 0 0 target=d/z",
        "",
      ]);
      const withTimes = fsManifest(sb.root, { mtime: true, root: false });
      assert.deepEqual(
        withTimes.split("\n")[0],
        "/c char 0666 0 0 dev=1:3 mtime=1600000000.000000000",
      );
    } finally {
      sb.cleanup();
    }
  },
);

systemTest("fsManifest sorts by path bytes, so 'a-b' comes before 'a/b'", () => {
  const sb = sandbox();
  try {
    apply(sb.root, [[file("a/b", "1"), file("a-b", "2")]]);
    const paths = fsManifest(sb.root).trim().split("\n").map((l) => l.split(" ")[0]);
    assert.deepEqual(paths, ["/", "/a", "/a-b", "/a/b"]);
  } finally {
    sb.cleanup();
  }
});
