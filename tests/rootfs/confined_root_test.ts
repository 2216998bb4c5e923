import assert from "node:assert/strict";
import { close } from "../../core/native/libc.ts";
import { ConfinedRoot } from "../../core/rootfs/confined_root.ts";
import { cleanPath } from "../../core/rootfs/entry_path.ts";
import { b, sandbox } from "./_layers.ts";

const dec = new TextDecoder();

Deno.test("cleanPath clamps '..' at the root and drops '.', empty components and slashes", () => {
  const cases: [string, string, boolean, boolean][] = [
    ["etc/passwd", "etc/passwd", false, false],
    ["./etc//passwd/", "etc/passwd", false, false],
    ["/etc/passwd", "etc/passwd", false, true],
    ["../../etc", "etc", true, false],
    ["a/b/../../../c", "c", true, false],
    ["./", "", false, false],
    ["/", "", false, true],
    ["a/..", "", true, false],
    ["...", "...", false, false],
  ];
  for (const [input, path, dotdot, abs] of cases) {
    const c = cleanPath(b(input));
    assert.deepEqual([dec.decode(c.path), c.hadDotDot, c.absolute], [
      path,
      dotdot,
      abs,
    ], input);
    assert.deepEqual(
      dec.decode(c.path.subarray(c.nameStart)),
      path.slice(path.lastIndexOf("/") + 1),
      input,
    );
  }
});

function both(fn: (root: ConfinedRoot, dir: string) => void): void {
  for (const userspace of [false, true]) {
    const sb = sandbox();
    const root = new ConfinedRoot(sb.root, { userspace });
    try {
      fn(root, sb.root);
      sb.assertCanaryIntact();
    } finally {
      root.close();
      sb.cleanup();
    }
  }
}

Deno.test("ConfinedRoot resolves symlinks and '..' inside the root, the same way with openat2 and the walk", () => {
  both((root, dir) => {
    Deno.mkdirSync(`${dir}/usr/lib`, { recursive: true });
    Deno.symlinkSync("/usr/lib", `${dir}/abs`);
    Deno.symlinkSync("../../../usr", `${dir}/rel`);
    Deno.symlinkSync("/", `${dir}/top`);
    assert.deepEqual(root.resolveDir(b("abs"), false)?.canon, "usr/lib");
    assert.deepEqual(root.resolveDir(b("rel/lib"), false)?.canon, "usr/lib");
    assert.deepEqual(root.resolveDir(b("top/top/usr/../.."), false)?.canon, "");
    assert.deepEqual(root.resolveDir(b("missing"), false), null);
    assert.deepEqual(root.resolveDir(b("abs/x/y"), true)?.canon, "usr/lib/x/y");
    assert(Deno.lstatSync(`${dir}/usr/lib/x/y`).isDirectory);
  });
});

Deno.test("ConfinedRoot reports a symlink loop as ELOOP", () => {
  both((root, dir) => {
    Deno.symlinkSync("b", `${dir}/a`);
    Deno.symlinkSync("a", `${dir}/b`);
    assert.throws(() => root.resolveDir(b("a/x"), true), { message: /ELOOP/ });
  });
});

Deno.test("ConfinedRoot forgets cached directories on invalidate", () => {
  both((root, dir) => {
    Deno.mkdirSync(`${dir}/one`);
    Deno.mkdirSync(`${dir}/two`);
    Deno.symlinkSync("one", `${dir}/cur`);
    assert.deepEqual(root.resolveDir(b("cur"), false)?.canon, "one");
    Deno.removeSync(`${dir}/cur`);
    Deno.symlinkSync("two", `${dir}/cur`);
    assert.deepEqual(
      root.resolveDir(b("cur"), false)?.canon,
      "one",
      "cached until invalidated",
    );
    root.invalidate();
    root.release();
    assert.deepEqual(root.resolveDir(b("cur"), false)?.canon, "two");
  });
});

Deno.test("ConfinedRoot.openCanonical refuses to follow symlinks", () => {
  both((root, dir) => {
    Deno.mkdirSync(`${dir}/real`);
    Deno.symlinkSync("real", `${dir}/link`);
    const fd = root.openCanonical("real");
    assert(fd >= 0);
    close(fd);
    assert(root.openCanonical("link") < 0);
  });
});

Deno.test("ConfinedRoot resolves below a cached parent without following a symlink or '..' there", () => {
  both((root, dir) => {
    Deno.mkdirSync(`${dir}/a/d`, { recursive: true });
    Deno.mkdirSync(`${dir}/x`);
    Deno.symlinkSync("/x", `${dir}/a/l`);
    assert.deepEqual(root.resolveDir(b("a"), false)?.canon, "a"); // now cached
    assert.deepEqual(root.resolveDir(b("a/d"), false)?.canon, "a/d");
    assert.deepEqual(root.resolveDir(b("a/l"), false)?.canon, "x");
    assert.deepEqual(root.resolveDir(b("a/l/.."), false)?.canon, "");
    assert.deepEqual(root.resolveDir(b("a/.."), false)?.canon, "");
    assert.deepEqual(root.resolveDir(b("a/new"), true)?.canon, "a/new");
  });
});

Deno.test("ConfinedRoot refuses to create a directory whose real path passes PATH_MAX", () => {
  both((root, dir) => {
    const deep = "B/".repeat(2040); // 4080 bytes
    Deno.symlinkSync(deep, `${dir}/s`);
    assert.throws(() => root.resolveDir(b("s/CCCCCCCCCCCCCCCCCCCC"), true), {
      message: /at least 4101 bytes.*PATH_MAX/,
    });
    assert.deepEqual(root.resolveDir(b("s/CCCCCCCCCCCC"), true)?.canon, `${deep}CCCCCCCCCCCC`);
  });
});

Deno.test("ConfinedRoot.visitCanonical visits each path once, below before above, without following symlinks", () => {
  both((root, dir) => {
    Deno.mkdirSync(`${dir}/a/b/c`, { recursive: true });
    Deno.mkdirSync(`${dir}/a-b`);
    Deno.mkdirSync(`${dir}/z`);
    Deno.symlinkSync("z", `${dir}/l`);
    Deno.writeTextFileSync(`${dir}/f`, "");
    const seen: [string, number][] = [];
    root.visitCanonical(["a", "a/b/c", "", "a-b", "l", "l/x", "f", "gone/x", "a/b/c"], (canon, fd) => {
      if (fd >= 0) {
        const st = Deno.statSync(`/proc/self/fd/${fd}`);
        assert(st.isDirectory, canon);
        close(fd);
      }
      seen.push([canon, fd < 0 ? fd : 0]);
    });
    const order = seen.map(([c]) => c);
    assert.deepEqual([...order].sort(), ["", "a", "a-b", "a/b/c", "f", "gone/x", "l", "l/x"]);
    assert(order.indexOf("a/b/c") < order.indexOf("a") && order.indexOf("a") < order.indexOf(""), order.join());
    assert.deepEqual(order[order.length - 1], "");
    const fds = Object.fromEntries(seen);
    assert.deepEqual([fds["a"], fds["a-b"], fds["a/b/c"]], [0, 0, 0]);
    assert.deepEqual([fds["l"], fds["l/x"], fds["f"], fds["gone/x"]], [-20, -20, -20, -2]); // ENOTDIR, ENOENT
  });
});
