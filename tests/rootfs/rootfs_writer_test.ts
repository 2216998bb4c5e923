import assert from "node:assert/strict";
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  close,
  getxattrFd,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  openat,
  readDir,
  readlinkat,
  statx,
} from "../../core/native/libc.ts";
import { RootfsWriter } from "../../core/rootfs/rootfs_writer.ts";
import { apply, b, dir, eachResolver, feed, file, hardlink, ls, lstat, node, symlink, whiteout } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

const text = (p: string) => Deno.readTextFileSync(p);
const mode = (p: string) => Deno.lstatSync(p).mode! & 0o7777;

function xattr(path: string, name: string): Uint8Array | null {
  const fd = openat(AT_FDCWD, b(path), O_PATH | O_NOFOLLOW);
  if (fd < 0) throw new Error(`open ${path}: ${fd}`);
  try {
    const v = getxattrFd(fd, name);
    return typeof v === "number" ? null : v;
  } finally {
    close(fd);
  }
}

function rawNames(path: string): Uint8Array[] {
  const fd = openat(AT_FDCWD, b(path), O_RDONLY | O_DIRECTORY);
  try {
    const r = readDir(fd);
    if (typeof r === "number") throw new Error(`readDir ${r}`);
    return r.map((e) => e.name);
  } finally {
    close(fd);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
}

systemTest("RootfsWriter writes names and link targets byte for byte", () => {
  eachResolver((sb, opts) => {
    const invalid = new Uint8Array([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc3, 0x28]); // "bad" + invalid UTF-8
    const weird = b("new\nline\ttab\\back slash");
    const dirName = new Uint8Array([0x64, 0x80, 0x2f]); // "d\x80/" trailing slash is cleaned
    const target = new Uint8Array([0x2e, 0x2e, 0x2f, 0xff, 0x0a]);
    apply(sb.root, [[
      file(invalid, "one"),
      file(weird, "two"),
      dir(dirName),
      file(new Uint8Array([0x64, 0x80, 0x2f, 0x09]), "three"),
      symlink("link", target),
      hardlink(b("hard\n"), invalid),
    ]], opts);
    const names = rawNames(sb.root).map(hex).sort();
    const expected = [
      invalid,
      weird,
      new Uint8Array([0x64, 0x80]),
      b("link"),
      b("hard\n"),
    ].map(hex).sort();
    assert.deepEqual(names, expected);
    const sub1 = new Uint8Array([...b(`${sb.root}/`), 0x64, 0x80]);
    const st0 = statx(
      AT_FDCWD,
      new Uint8Array([...sub1, 0x2f, 0x09]),
      AT_SYMLINK_NOFOLLOW,
    );
    assert(
      typeof st0 !== "number" && st0.size === 5,
      "file inside a non-UTF-8 directory",
    );
    const sub = openat(AT_FDCWD, b(sb.root), O_PATH | O_DIRECTORY);
    const linkTarget = readlinkat(sub, b("link"));
    close(sub);
    assert(
      linkTarget instanceof Uint8Array && hex(linkTarget) === hex(target),
      "symlink target kept verbatim",
    );
    assert.deepEqual(text(`${sb.root}/new\nline\ttab\\back slash`), "two");
    const st1 = statx(
      AT_FDCWD,
      new Uint8Array([...b(sb.root + "/"), ...invalid]),
      AT_SYMLINK_NOFOLLOW,
    );
    const st2 = statx(AT_FDCWD, b(`${sb.root}/hard\n`), AT_SYMLINK_NOFOLLOW);
    assert(
      typeof st1 !== "number" && typeof st2 !== "number" && st1.ino === st2.ino,
      "hardlink to a non-UTF-8 name",
    );
    sb.assertCanaryIntact();
  });
});

systemTest("RootfsWriter replaces a file with a directory and a directory with a file across layers", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [dir("etc"), file("etc/a", "1"), dir("etc/b"), file("etc/b/inner", "x")],
      [file("etc/b", "now a file"), dir("etc/a", { mode: 0o750 })],
    ], opts);
    assert(Deno.lstatSync(`${sb.root}/etc/a`).isDirectory);
    assert.deepEqual(mode(`${sb.root}/etc/a`), 0o750);
    assert.deepEqual(text(`${sb.root}/etc/b`), "now a file");
  });
});

systemTest("RootfsWriter lets the last entry win within one layer", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[
      file("x", "file first"),
      dir("x"),
      file("x/child", "c"),
      dir("y"),
      file("y/child", "c"),
      file("y", "file last"),
      symlink("z", "x"),
      file("z", "plain"),
    ]], opts);
    assert(Deno.lstatSync(`${sb.root}/x`).isDirectory);
    assert.deepEqual(text(`${sb.root}/x/child`), "c");
    assert.deepEqual(text(`${sb.root}/y`), "file last");
    assert(Deno.lstatSync(`${sb.root}/z`).isFile);
  });
});

systemTest("RootfsWriter replaces a lower file by a directory whose children come first in the layer", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [dir("etc"), file("etc/a", "1")],
      [file("etc/a/b", "child"), dir("etc/a", { mode: 0o700 })],
    ], opts);
    assert.deepEqual(text(`${sb.root}/etc/a/b`), "child");
    assert.deepEqual(mode(`${sb.root}/etc/a`), 0o700);
  });
});

systemTest("RootfsWriter keeps a symlink to a directory when a layer brings that directory (keep-dirlinks)", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("usr"),
        dir("usr/lib"),
        file("usr/lib/libc.so", "libc"),
        symlink("lib", "usr/lib"),
        symlink("lib64", "/usr/lib"),
      ],
      [
        dir("lib"),
        file("lib/ld.so", "ld"),
        dir("lib64"),
        file("lib64/more", "m"),
      ],
    ], opts);
    assert.deepEqual(Deno.readLinkSync(`${sb.root}/lib`), "usr/lib");
    assert.deepEqual(Deno.readLinkSync(`${sb.root}/lib64`), "/usr/lib");
    assert.deepEqual(ls(`${sb.root}/usr/lib`), ["ld.so", "libc.so", "more"]);
  });
});

systemTest("RootfsWriter replaces a symlink to a file, or a dangling one, when a directory arrives", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [file("f", "f"), symlink("tofile", "f"), symlink("dangling", "nowhere")],
      [dir("tofile"), dir("dangling")],
    ], opts);
    assert(Deno.lstatSync(`${sb.root}/tofile`).isDirectory);
    assert(Deno.lstatSync(`${sb.root}/dangling`).isDirectory);
    assert.deepEqual(text(`${sb.root}/f`), "f");
    assert.deepEqual(lstat(`${sb.root}/nowhere`), null);
  });
});

systemTest("RootfsWriter replaces a non-directory that sits where a parent must be", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[file("a", "1"), node("fifo", "p")], [
      file("a/b", "2"),
      file("p/q/r", "3"),
    ]], opts);
    assert.deepEqual(text(`${sb.root}/a/b`), "2");
    assert.deepEqual(text(`${sb.root}/p/q/r`), "3");
    assert.deepEqual(mode(`${sb.root}/p/q`), 0o755);
  });
});

systemTest("RootfsWriter follows a dangling parent symlink inside the root and creates its target (umoci)", () => {
  eachResolver((sb, opts) => {
    apply(
      sb.root,
      [[symlink("localetc", "dne")], [file("localetc/foo", "x")]],
      opts,
    );
    assert.deepEqual(text(`${sb.root}/dne/foo`), "x");
    assert.deepEqual(Deno.readLinkSync(`${sb.root}/localetc`), "dne");
  });
});

systemTest("RootfsWriter whiteouts remove files, directories and symlinks of lower layers", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        file("a", "a"),
        dir("d"),
        dir("d/sub"),
        file("d/sub/x", "x"),
        dir("keep"),
        file("keep/inside", "k"),
        symlink("d/tokeep", "../keep"),
        symlink("linkdir", "keep"),
        symlink("dead", "nowhere"),
      ],
      [
        whiteout(".wh.a"),
        whiteout(".wh.d"),
        whiteout(".wh.linkdir"),
        whiteout(".wh.dead"),
        whiteout(".wh.missing"),
      ],
    ], opts);
    assert.deepEqual(ls(sb.root), ["keep"]);
    assert.deepEqual(text(`${sb.root}/keep/inside`), "k");
  });
});

systemTest("RootfsWriter whiteouts never write the whiteout file", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[
      dir("d"),
      file("d/.wh.x", "content"),
      file("d/.wh..wh..opq"),
    ]], opts);
    assert.deepEqual(ls(`${sb.root}/d`), []);
  });
});

systemTest("RootfsWriter whiteouts spare what the same layer wrote before them", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("etc"),
        file("etc/a", "a"),
        file("etc/b", "b"),
        dir("etc/sub"),
        file("etc/sub/old", "o"),
      ],
      [
        file("etc/a", "A"),
        file("etc/sub/new", "n"),
        whiteout(".wh.etc"),
        file("late", "l"),
      ],
    ], opts);
    assert.deepEqual(ls(`${sb.root}/etc`), ["a", "sub"]);
    assert.deepEqual(ls(`${sb.root}/etc/sub`), ["new"]);
    assert.deepEqual(text(`${sb.root}/etc/a`), "A");
  });
});

systemTest(
  "RootfsWriter whiteouts spare all that a directory made by the same layer holds, and reach a directory merged into a lower one",
  () => {
    eachResolver((sb, opts) => {
      apply(sb.root, [
        [
          dir("merged"),
          file("merged/lower", "l"),
          dir("replaced"),
          file("replaced/lower", "l"),
        ],
        [
          // Made by this layer (nested too): whiteouts and an opaque marker inside spare everything.
          dir("fresh"),
          dir("fresh/deep"),
          file("fresh/deep/x", "x"),
          file("fresh/y", "y"),
          whiteout("fresh/.wh.y"),
          whiteout("fresh/deep/.wh..wh..opq"),
          whiteout("fresh/.wh.deep"),
          // Merged into the lower directory: its lower entry goes, this layer's stays.
          dir("merged"),
          file("merged/upper", "u"),
          whiteout("merged/.wh..wh..opq"),
          // A lower directory replaced by a file, then made again: what it held below is gone.
          file("replaced", "f"),
          dir("replaced"),
          file("replaced/upper", "u"),
          whiteout("replaced/.wh..wh..opq"),
        ],
      ], opts);
      assert.deepEqual(ls(`${sb.root}/fresh`), ["deep", "y"]);
      assert.deepEqual(ls(`${sb.root}/fresh/deep`), ["x"]);
      assert.deepEqual(ls(`${sb.root}/merged`), ["upper"]);
      assert.deepEqual(ls(`${sb.root}/replaced`), ["upper"]);
    });
  },
);

systemTest("RootfsWriter opaque whiteouts hide lower content only, whatever the order in the layer", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("d"),
        file("d/old", "o"),
        dir("d/olddir"),
        file("d/olddir/x", "x"),
        symlink("d/link", "../keep"),
        dir("keep"),
      ],
      [
        dir("d"),
        file("d/before", "b"),
        whiteout("d/.wh..wh..opq"),
        file("d/after", "a"),
        whiteout("nope/.wh..wh..opq"),
      ],
    ], opts);
    assert.deepEqual(ls(`${sb.root}/d`), ["after", "before"]);
    assert(
      Deno.lstatSync(`${sb.root}/keep`).isDirectory,
      "the opaque whiteout removed a symlink, not its target",
    );
    assert.deepEqual(lstat(`${sb.root}/nope`), null);
  });
});

systemTest(
  "RootfsWriter whiteout names: '.wh.' is an error, '.wh..' removes its directory or is ignored at the root, '.wh...' is ignored",
  () => {
    eachResolver((sb, opts) => {
      const warnings = apply(sb.root, [
        [
          dir("etc"),
          file("etc/passwd", "p"),
          dir("var"),
          dir("var/x"),
          file("var/x/y", "y"),
        ],
        [whiteout(".wh.."), whiteout("var/x/.wh..."), whiteout("etc/.wh..")],
      ], opts);
      assert.deepEqual(ls(sb.root), ["var"]);
      assert.deepEqual(ls(`${sb.root}/var/x`), ["y"]);
      assert.deepEqual(warnings.map((w) => w.code), [
        "whiteout-ignored",
        "whiteout-ignored",
      ]);
      assert.throws(() => apply(sb.root, [[whiteout("var/.wh.")]], opts), {
        name: "Oci2LxcError",
        code: "rootfs",
        message: /Cannot apply var\/\.wh\. from layer 1: whiteout '\.wh\.' names nothing/,
      });
    });
  },
);

systemTest("RootfsWriter applies whiteouts through symlinked parents inside the root", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("etc"),
        file("etc/passwd", "p"),
        file("etc/group", "g"),
        symlink("abs", "/etc"),
        symlink("rel", "../../etc"),
      ],
      [whiteout("abs/.wh.passwd"), whiteout("rel/.wh.group")],
    ], opts);
    assert.deepEqual(ls(`${sb.root}/etc`), []);
    sb.assertCanaryIntact();
  });
});

systemTest(
  "RootfsWriter hardlinks share the inode within and across layers, and survive deletion of the first name",
  () => {
    eachResolver((sb, opts) => {
      apply(sb.root, [
        [
          file("a", "content", { mode: 0o4755 }),
          hardlink("b", "a"),
          symlink("s", "a"),
          hardlink("s2", "s"),
        ],
        [hardlink("c", "/b"), whiteout(".wh.a")],
      ], opts);
      assert.deepEqual(ls(sb.root), ["b", "c", "s", "s2"]);
      const b1 = Deno.lstatSync(`${sb.root}/b`);
      const c1 = Deno.lstatSync(`${sb.root}/c`);
      assert.deepEqual([b1.ino === c1.ino, b1.nlink, text(`${sb.root}/c`)], [
        true,
        2,
        "content",
      ]);
      assert.deepEqual(mode(`${sb.root}/b`), 0o4755);
      assert(
        Deno.lstatSync(`${sb.root}/s2`).isSymlink,
        "a hardlink to a symlink links the symlink",
      );
    });
  },
);

systemTest("RootfsWriter rejects a hardlink to a missing name, naming the layer and the entry", () => {
  eachResolver((sb, opts) => {
    assert.throws(() => apply(sb.root, [[file("x", "x")], [hardlink("usr/bin/link", "usr/bin/missing")]], opts), {
      name: "Oci2LxcError",
      code: "rootfs",
      message: /^Cannot apply usr\/bin\/link from layer 2: hardlink target usr\/bin\/missing does not exist$/,
    });
  });
});

systemTest("RootfsWriter makes devices and FIFOs with mknod and rejects out-of-range numbers", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[
      file("dev/null", "was a file"),
      node("char", "dev/null", 1, 3, { mode: 0o666 }),
      node("block", "dev/loop0", 7, 0, { mode: 0o660, gid: 6 }),
      node("char", "dev/big", 4095, 1048575),
      node("fifo", "run/initctl", 0, 0, { mode: 0o600 }),
    ]], opts);
    const nul = Deno.lstatSync(`${sb.root}/dev/null`);
    assert(
      nul.isCharDevice && nul.rdev === 259 && (nul.mode! & 0o777) === 0o666,
      "char 1:3",
    );
    const loop = Deno.lstatSync(`${sb.root}/dev/loop0`);
    assert(loop.isBlockDevice && loop.gid === 6, "block 7:0");
    assert(Deno.lstatSync(`${sb.root}/run/initctl`).isFifo);
    assert.throws(() => apply(sb.root, [[node("char", "dev/huge", 4096, 0)]], opts), {
      message: /device number 4096:0 is out of range/,
    });
    assert.throws(() => apply(sb.root, [[node("block", "dev/huge", 1, 1 << 20)]], opts), { message: /out of range/ });
  });
});

Deno.test("RootfsWriter skips devices with a warning in approximate mode and never makes regular files of them", () => {
  eachResolver((sb, opts) => {
    const warnings = apply(sb.root, [[
      file("dev/null", "old"),
      node("char", "dev/null", 1, 3),
      node("fifo", "fifo"),
    ]], {
      ...opts,
      approximate: true,
    });
    assert.deepEqual(ls(`${sb.root}/dev`), []);
    assert(Deno.lstatSync(`${sb.root}/fifo`).isFifo);
    assert.deepEqual(warnings.map((w) => w.code).sort(), [
      "device-skipped",
      "ownership-skipped",
    ]);
  });
});

systemTest("RootfsWriter applies setuid, setgid, sticky and mode 000 directories with children", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        file("bin/su", "su", { mode: 0o4755, uid: 0, gid: 0 }),
        file("bin/wall", "w", { mode: 0o2755, gid: 5 }),
        dir("tmp", { mode: 0o1777 }),
        dir("shared", { mode: 0o2775, gid: 50 }),
        dir("locked", { mode: 0 }),
        dir("locked/inner", { mode: 0o500 }),
        file("locked/inner/secret", "s", { mode: 0o400 }),
      ],
      [file("locked/inner/later", "l", { mode: 0 })],
    ], opts);
    assert.deepEqual(
      [
        "bin/su",
        "bin/wall",
        "tmp",
        "shared",
        "locked",
        "locked/inner",
        "locked/inner/later",
      ].map((p) => mode(`${sb.root}/${p}`).toString(8)),
      ["4755", "2755", "1777", "2775", "0", "500", "0"],
    );
    assert.deepEqual(text(`${sb.root}/locked/inner/secret`), "s");
  });
});

systemTest("RootfsWriter sets owners above 65535 on files, directories and symlinks (not their targets)", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[
      dir("home", { uid: 100000, gid: 100000 }),
      file("home/f", "x", { uid: 4_000_000_000, gid: 70000 }),
      symlink("home/l", "f", { uid: 1234, gid: 5678 }),
    ]], opts);
    const d = Deno.lstatSync(`${sb.root}/home`);
    const f = Deno.lstatSync(`${sb.root}/home/f`);
    const l = Deno.lstatSync(`${sb.root}/home/l`);
    assert.deepEqual([d.uid, d.gid, f.uid, f.gid, l.uid, l.gid], [
      100000,
      100000,
      4_000_000_000,
      70000,
      1234,
      5678,
    ]);
  });
});

systemTest("RootfsWriter writes security.capability after chown and user.* xattrs on files and directories", () => {
  eachResolver((sb, opts) => {
    // v2 capability: cap_net_raw permitted+effective.
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
    const binary = new Uint8Array([0, 1, 2, 0xff, 0x0a, 0]);
    const warnings = apply(sb.root, [[
      file("bin/ping", "ping", {
        uid: 0,
        gid: 0,
        mode: 0o755,
        xattrs: { "security.capability": cap, "user.bin": binary },
      }),
      dir("data", {
        xattrs: { "user.dir": "on a directory", "trusted.evil": "x" },
      }),
    ]], opts);
    assert.deepEqual(
      hex(xattr(`${sb.root}/bin/ping`, "security.capability")!),
      hex(cap),
    );
    assert.deepEqual(hex(xattr(`${sb.root}/bin/ping`, "user.bin")!), hex(binary));
    assert.deepEqual(
      new TextDecoder().decode(xattr(`${sb.root}/data`, "user.dir")!),
      "on a directory",
    );
    assert.deepEqual(xattr(`${sb.root}/data`, "trusted.evil"), null);
    assert.deepEqual(warnings.map((w) => [w.code, w.path]), [[
      "xattr-skipped",
      "data",
    ]]);
  });
});

systemTest("RootfsWriter replaces the xattrs of a merged directory with the layer's", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[
      dir("d", { xattrs: { "user.old": "1", "user.both": "1" } }),
    ], [
      dir("d", { xattrs: { "user.both": "2" } }),
    ]], opts);
    assert.deepEqual(xattr(`${sb.root}/d`, "user.old"), null);
    assert.deepEqual(
      new TextDecoder().decode(xattr(`${sb.root}/d`, "user.both")!),
      "2",
    );
  });
});

systemTest("RootfsWriter shifts owners through the idmap, implicit parents and the root included", () => {
  eachResolver((sb, opts) => {
    const idmap = {
      uid: [{ container: 0, host: 100000, size: 65536 }],
      gid: [{ container: 0, host: 200000, size: 65536 }],
    };
    apply(sb.root, [[
      file("var/www/index.html", "x", { uid: 33, gid: 33 }),
      symlink("l", "x", { uid: 1 }),
    ]], {
      ...opts,
      idmap,
    });
    const owner = (p: string) => {
      const s = Deno.lstatSync(`${sb.root}${p}`);
      return [s.uid, s.gid];
    };
    assert.deepEqual([
      owner(""),
      owner("/var"),
      owner("/var/www"),
      owner("/var/www/index.html"),
      owner("/l"),
    ], [
      [100000, 200000],
      [100000, 200000],
      [100000, 200000],
      [100033, 200033],
      [100001, 200000],
    ]);
  });
});

systemTest("RootfsWriter refuses an owner outside the idmap with a hint", () => {
  eachResolver((sb, opts) => {
    const idmap = {
      uid: [{ container: 0, host: 100000, size: 65536 }],
      gid: [{ container: 0, host: 100000, size: 65536 }],
    };
    assert.throws(() => apply(sb.root, [[file("opt/app", "x", { uid: 70000 })]], { ...opts, idmap }), {
      name: "Oci2LxcError",
      code: "rootfs",
      hint: "Use a wider --idmap",
      message: /^Cannot map owner of opt\/app in layer 1: uid 70000 is outside the idmap \(0-65535 → 100000-165535\)$/,
    });
  });
});

systemTest(
  "RootfsWriter keeps directory times as the layer says, and lower directory times when only children change",
  () => {
    eachResolver((sb, opts) => {
      apply(sb.root, [
        [
          dir("lower", { mtime: 1000 }),
          dir("d", { mtime: 2000.25, atime: 3000 }),
          file("d/f", "x", { mtime: 1.5 }),
        ],
        [file("lower/new", "n", { mtime: 5 }), symlink("d/l", "f", { mtime: 7 })],
      ], opts);
      const st = (p: string) => {
        const s = statx(AT_FDCWD, b(`${sb.root}/${p}`), AT_SYMLINK_NOFOLLOW);
        if (typeof s === "number") throw new Error("statx");
        return s;
      };
      assert.deepEqual(st("lower").mtime, { sec: 1000, nsec: 0 });
      assert.deepEqual([st("d").mtime, st("d").atime], [{
        sec: 2000,
        nsec: 250000000,
      }, { sec: 3000, nsec: 0 }]);
      assert.deepEqual([st("d/f").mtime, st("d/f").atime], [{
        sec: 1,
        nsec: 500000000,
      }, { sec: 1, nsec: 500000000 }]);
      assert.deepEqual(st("d/l").mtime, { sec: 7, nsec: 0 });
    });
  },
);

systemTest("RootfsWriter applies a root directory entry and skips a root entry of another type", () => {
  eachResolver((sb, opts) => {
    const warnings = apply(sb.root, [[
      dir("./", { mode: 0o700 }),
      symlink(".", "/"),
      file("/", "x"),
    ]], opts);
    assert(Deno.lstatSync(sb.root).isDirectory);
    assert.deepEqual(mode(sb.root), 0o700);
    assert.deepEqual(warnings.map((w) => w.code), [
      "root-entry",
      "unsafe-path",
      "root-entry",
    ]);
  });
});

systemTest("RootfsWriter rejects an empty symlink target", () => {
  eachResolver((sb, opts) => {
    assert.throws(() => apply(sb.root, [[symlink("s", "")]], opts), {
      message: /Cannot apply s from layer 1: symlink target is empty/,
    });
  });
});

systemTest("RootfsWriter uses openat2 where the kernel has it and the walk when forced", () => {
  const dir1 = Deno.makeTempDirSync();
  try {
    const a = new RootfsWriter(dir1);
    const c = new RootfsWriter(dir1, { userspaceResolver: true });
    assert.deepEqual([a.usesOpenat2, c.usesOpenat2], [true, false]);
    a.close();
    c.close();
  } finally {
    Deno.removeSync(dir1, { recursive: true });
  }
});

systemTest("RootfsWriter counts what it wrote", () => {
  const base = Deno.makeTempDirSync();
  try {
    const w = new RootfsWriter(base);
    feed(w, [[
      dir("d"),
      file("d/f", "12345"),
      symlink("s", "d"),
      hardlink("h", "d/f"),
      whiteout(".wh.x"),
    ]]);
    w.close();
    const {
      entries,
      files,
      bytes,
      directories,
      symlinks,
      hardlinks,
      whiteouts,
    } = w.stats;
    assert.deepEqual([
      entries,
      files,
      bytes,
      directories,
      symlinks,
      hardlinks,
      whiteouts,
    ], [5, 1, 5, 1, 1, 1, 1]);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

systemTest("RootfsWriter re-resolves parents after a whiteout or replacement removed them in the same layer", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [dir("a"), file("a/old", "o"), dir("b"), dir("c"), file("c/f", "f")],
      [
        file("a/x", "x"),
        symlink("a", "b"),
        file("a/y", "through the new link"),
        file("c/g", "g"),
        whiteout(".wh.c"),
        file("c/h", "recreated"),
      ],
    ], opts);
    assert.deepEqual(Deno.readLinkSync(`${sb.root}/a`), "b");
    assert.deepEqual(ls(`${sb.root}/b`), ["y"]);
    assert.deepEqual(ls(`${sb.root}/c`), ["g", "h"]);
  });
});

systemTest("RootfsWriter close releases a file left open by a failed layer", () => {
  const sb = sandboxFor();
  try {
    const w = new RootfsWriter(sb);
    w.beginLayer("layer 1");
    w.entry(file("f", "data").entry);
    w.data(b("da"));
    w.close();
    w.close();
    assert.deepEqual(text(`${sb}/f`), "da");
  } finally {
    Deno.removeSync(sb, { recursive: true });
  }
});

function sandboxFor(): string {
  return Deno.makeTempDirSync({ prefix: "oci2lxc-rootfs-" });
}

systemTest("RootfsWriter rejects names and link targets with NUL bytes", () => {
  eachResolver((sb, opts) => {
    assert.throws(() => apply(sb.root, [[file(new Uint8Array([0x61, 0, 0x62]), "x")]], opts), {
      message: /the name contains a NUL byte/,
    });
    assert.throws(() => apply(sb.root, [[symlink("s", new Uint8Array([0x61, 0, 0x62]))]], opts), {
      message: /link target contains a NUL/,
    });
    assert.deepEqual(ls(sb.root), []);
  });
});
