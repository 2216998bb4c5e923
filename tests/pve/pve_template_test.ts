import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { AT_FDCWD, check, close, fsetxattr, getxattrFd, O_PATH, O_RDONLY, openat } from "../../core/native/libc.ts";
import { tarRootfs, writePveTemplate } from "../../core/pve/pve_template.ts";
import type { IdMap } from "../../core/rootfs/id_map.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { apply, dir, file } from "../rootfs/_layers.ts";
import {
  buildHardTree,
  bytesOf,
  CAP_NET_RAW_V2,
  concat,
  latin1,
  LONG_PATH,
  ODD_NAME,
  pctExtract,
  type ReadMember,
  readTar,
  run,
  unzstd,
} from "./_helpers.ts";
import { systemTest } from "../_helpers/tier.ts";

const enc = new TextEncoder();

/** A temp dir with `src/` (the rootfs) and room for outputs; removed by `done`. */
function workspace(): { base: string; src: string; done(): void } {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-pve-" });
  const src = `${base}/src`;
  Deno.mkdirSync(src);
  return { base, src, done: () => Deno.removeSync(base, { recursive: true }) };
}

function byName(members: readonly ReadMember[]): Map<string, ReadMember> {
  return new Map(members.map((m) => [latin1(m.entry.path), m]));
}

systemTest(
  "writePveTemplate archives hardlinks, symlinks, devices, setuid, xattrs, big ids and odd names exactly",
  async () => {
    const ws = workspace();
    try {
      buildHardTree(ws.src);
      const warnings: string[] = [];
      const out = `${ws.base}/t.tar.zst`;
      const result = await writePveTemplate(ws.src, out, { onWarning: (w) => warnings.push(w) });
      assert.equal(result.bytes, Deno.statSync(out).size);
      assert.deepEqual([...Deno.readDirSync(ws.base)].map((e) => e.name).sort(), ["src", "t.tar.zst"]);

      const tar = unzstd(out);
      assert.equal(tar.length, result.tarBytes);
      const { members } = readTar(tar, 1000);
      assert.equal(members.length, result.members);
      const names = members.map((m) => latin1(m.entry.path));
      assert.equal(names[0], ".");
      assert.ok(names.every((n) => n === "." || n.startsWith("./")), "every member is ./-relative");
      const at = (n: string) => names.indexOf(n);
      assert.ok(at("./bin") < at("./bin/tool") && at("./names") < at(`./names/${latin1(ODD_NAME)}`), "parents first");

      const m = byName(members);
      const tool = m.get("./bin/tool")!.entry;
      const again = m.get("./bin/tool-again")!.entry;
      // The first name in byte order carries the data; the other is a hardlink to it.
      assert.equal(tool.type, "file");
      assert.equal(again.type, "hardlink");
      assert.equal(latin1(again.linkPath), "./bin/tool");
      assert.equal(tool.mode, 0o4755);
      assert.equal(tool.mtime, 1_700_000_001.5);
      assert.equal(latin1(m.get("./bin/sh")!.entry.linkPath), "tool");
      assert.equal(m.get("./dev/null")!.entry.type, "char");
      assert.deepEqual([m.get("./dev/null")!.entry.devMajor, m.get("./dev/null")!.entry.devMinor], [1, 3]);
      assert.equal(m.get("./run-fifo")!.entry.type, "fifo");
      assert.equal(latin1(m.get("./bin/ping")!.entry.xattrs.get("security.capability")!), latin1(CAP_NET_RAW_V2));
      assert.equal(latin1(m.get("./home/app/notes")!.entry.xattrs.get("user.bin")!), "\x00\x01\xff\x0a");
      assert.deepEqual([m.get("./big-owner")!.entry.uid, m.get("./big-owner")!.entry.gid], [100000, 100000]);
      assert.equal(latin1(m.get(`./names/${latin1(ODD_NAME)}`)!.data), "odd\n");
      assert.equal(latin1(m.get(`./${LONG_PATH}`)!.data), "deep\n");
      assert.equal(latin1(m.get("./long-link")!.entry.linkPath), LONG_PATH);
      assert.equal(m.get("./tmp")!.entry.mode, 0o1777);

      assert.ok(
        warnings.some((w) => w.includes("ids of 65536 or more") && w.includes("/big-owner")),
        warnings.join("\n"),
      );
    } finally {
      ws.done();
    }
  },
);

systemTest("writePveTemplate output extracts with GNU tar into a tree whose manifest equals the source's", async () => {
  const ws = workspace();
  try {
    buildHardTree(ws.src);
    const out = `${ws.base}/t.tar.zst`;
    await writePveTemplate(ws.src, out);
    const listing = new TextDecoder().decode(run("tar", ["--zstd", "--numeric-owner", "-tvf", out]).stdout);
    assert.match(listing, /^-rwsr-xr-x 0\/0 +\d+ .* \.\/bin\/tool$/m);
    assert.match(listing, /^hrwsr-xr-x 0\/0 +0 .* \.\/bin\/tool-again link to \.\/bin\/tool$/m);
    assert.match(listing, /^-rw-r--r-- 100000\/100000 /m);
    const dest = `${ws.base}/x`;
    Deno.mkdirSync(dest);
    run("tar", ["--zstd", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", out, "-C", dest]);
    assert.equal(fsManifest(dest, { mtime: true }), fsManifest(ws.src, { mtime: true }));
  } finally {
    ws.done();
  }
});

systemTest("writePveTemplate output extracts with pct's own tar flags, which leave ./dev/* out", async () => {
  const ws = workspace();
  try {
    buildHardTree(ws.src);
    const out = `${ws.base}/t.tar.zst`;
    await writePveTemplate(ws.src, out);
    const dest = `${ws.base}/ct`;
    pctExtract(out, dest);
    assert.deepEqual([...Deno.readDirSync(`${dest}/dev`)], []);
    const without = (text: string) => text.split("\n").filter((l) => !l.startsWith("/dev/null ")).join("\n");
    assert.equal(without(fsManifest(dest)), without(fsManifest(ws.src)));
  } finally {
    ws.done();
  }
});

systemTest(
  "writePveTemplate shifts an id-mapped rootfs back to container ids, v3 capabilities and owners alike",
  async () => {
    const ws = workspace();
    const idmap: IdMap = {
      uid: [{ container: 0, host: 200000, size: 200000 }],
      gid: [{ container: 0, host: 200000, size: 200000 }],
    };
    try {
      const plain = `${ws.base}/plain`;
      Deno.mkdirSync(plain);
      buildHardTree(plain);
      buildHardTree(ws.src, { idmap });
      // A v3 capability for container root on disk holds host uid 200000; one for uid 7 holds 200007.
      const v3 = (root: number) => {
        const v = new Uint8Array(24);
        const view = new DataView(v.buffer);
        view.setUint32(0, 0x03000001, true);
        view.setUint32(4, 1 << 13, true);
        view.setUint32(20, root, true);
        return v;
      };
      apply(ws.src, [[
        file("cap-root", "x", { xattrs: { "security.capability": v3(0) } }),
        file("cap-seven", "y", { xattrs: { "security.capability": v3(7) } }),
      ]], { idmap });
      const onDisk = (name: string) => {
        const fd = check(openat(AT_FDCWD, enc.encode(`${ws.src}/${name}`), O_PATH), "openat");
        try {
          return getxattrFd(fd, "security.capability") as Uint8Array;
        } finally {
          close(fd);
        }
      };
      assert.equal(new DataView(onDisk("cap-seven").buffer).getUint32(20, true), 200007, "the rootfs holds host ids");
      assert.equal(Deno.statSync(`${ws.src}/home/app`).uid, 201000);

      const out = `${ws.base}/t.tar.zst`;
      await writePveTemplate(ws.src, out, { idmap });
      const m = byName(readTar(unzstd(out)).members);
      assert.deepEqual([m.get(".")!.entry.uid, m.get(".")!.entry.gid], [0, 0]);
      assert.deepEqual([m.get("./home/app")!.entry.uid, m.get("./home/app")!.entry.gid], [1000, 1000]);
      assert.deepEqual([m.get("./big-owner")!.entry.uid, m.get("./big-owner")!.entry.gid], [100000, 100000]);
      const capRoot = m.get("./cap-root")!.entry.xattrs.get("security.capability")!;
      assert.equal(capRoot.length, 20, "a v3 capability of container root becomes v2");
      assert.equal(new DataView(capRoot.buffer, capRoot.byteOffset).getUint32(0, true), 0x02000001);
      const capSeven = m.get("./cap-seven")!.entry.xattrs.get("security.capability")!;
      assert.equal(new DataView(capSeven.buffer, capSeven.byteOffset).getUint32(20, true), 7);

      // Apart from the two extra files, the template equals one made from the unshifted tree.
      const plainOut = `${ws.base}/plain.tar.zst`;
      await writePveTemplate(plain, plainOut);
      const strip = (members: readonly ReadMember[]) =>
        members.filter((x) => !latin1(x.entry.path).startsWith("./cap-")).map((x) => ({
          ...x.entry,
          offset: 0,
          // Parents made without an entry of their own get the time of the run.
          mtime: x.entry.type === "directory" ? 0 : x.entry.mtime,
          xattrs: [...x.entry.xattrs],
          data: latin1(x.data),
        }));
      assert.deepEqual(strip(readTar(unzstd(out)).members), strip(readTar(unzstd(plainOut)).members));
    } finally {
      ws.done();
    }
  },
);

systemTest("writePveTemplate refuses an owner outside the id map and leaves no file behind", async () => {
  const ws = workspace();
  try {
    apply(ws.src, [[file("stray", "z", { uid: 5 })]]);
    const out = `${ws.base}/t.tar.zst`;
    const idmap: IdMap = {
      uid: [{ container: 0, host: 100000, size: 65536 }],
      gid: [{ container: 0, host: 100000, size: 65536 }],
    };
    await assert.rejects(
      writePveTemplate(ws.src, out, { idmap }),
      (err: unknown) =>
        err instanceof Oci2LxcError && err.code === "rootfs" &&
        /Cannot archive \/: it is owned by host uid 0, which the id map does not cover/.test(err.message),
    );
    assert.deepEqual([...Deno.readDirSync(ws.base)].map((e) => e.name), ["src"]);
  } finally {
    ws.done();
  }
});

systemTest("tarRootfs leaves sockets out with a warning and names device nodes outside /dev", async () => {
  const ws = workspace();
  try {
    apply(ws.src, [[file("a", "1")]]);
    Deno.mkdirSync(`${ws.src}/run`);
    const listener = Deno.listen({ transport: "unix", path: `${ws.src}/run/app.sock` });
    const mknod = new Deno.Command("mknod", { args: [`${ws.src}/zero`, "c", "1", "5"] }).outputSync();
    assert.ok(mknod.success);
    const warnings: string[] = [];
    const parts: Uint8Array[] = [];
    let r;
    try {
      r = await tarRootfs(ws.src, (c) => parts.push(c.slice()), { onWarning: (w) => warnings.push(w) });
    } finally {
      listener.close();
    }
    assert.equal(r.skipped, 1);
    const names = readTar(concat(parts)).members.map((x) => latin1(x.entry.path));
    assert.deepEqual(names, [".", "./a", "./run", "./zero"]);
    assert.ok(warnings.some((w) => w.startsWith("1 socket left out") && w.includes("/run/app.sock")), warnings.join());
    assert.ok(warnings.some((w) => w.startsWith("1 device node outside /dev") && w.includes("/zero")), warnings.join());
  } finally {
    ws.done();
  }
});

systemTest("writePveTemplate keeps xattr policy: trusted.* stays out of the template", async () => {
  const ws = workspace();
  try {
    apply(ws.src, [[file("f", "1")]]);
    const fd = check(openat(AT_FDCWD, enc.encode(`${ws.src}/f`), O_RDONLY), "openat");
    try {
      check(fsetxattr(fd, "trusted.overlay.opaque", bytesOf("y")), "fsetxattr");
      check(fsetxattr(fd, "user.keep", bytesOf("k")), "fsetxattr");
    } finally {
      close(fd);
    }
    const parts: Uint8Array[] = [];
    await tarRootfs(ws.src, (c) => parts.push(c.slice()));
    const f = byName(readTar(concat(parts)).members).get("./f")!;
    assert.deepEqual([...f.entry.xattrs.keys()], ["user.keep"]);
  } finally {
    ws.done();
  }
});

/** The fixture's expected rootfs (fixtures/build.sh, from umoci's unpack): path → [type, mode, uid, gid, size, target, hardlink group]. */
function fixtureRootfs(name: string): Map<string, string[]> {
  const text = Deno.readTextFileSync(new URL(`../../fixtures/images/${name}.rootfs.tsv`, import.meta.url));
  return new Map(
    text.trimEnd().split("\n").map((line) => {
      const f = line.split("\t");
      return [f[0]!, [f[1]!, f[2]!, f[3]!, f[4]!, f[5]!, f[7]!, f[10]!]];
    }),
  );
}

systemTest("writePveTemplate turns the converted busybox fixture into a template with container owners", async (t) => {
  const ws = workspace();
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const fixture = new URL("../../fixtures/images/busybox.oci.tar", import.meta.url).pathname;
  const expected = fixtureRootfs("busybox");
  try {
    for (const unprivileged of [false, true]) {
      await t.step(unprivileged ? "unprivileged conversion" : "privileged conversion", async () => {
        const dest = `${ws.base}/ct-${unprivileged ? "u" : "p"}`;
        const args = [
          "run",
          "-A",
          main,
          "convert",
          fixture,
          dest,
          "--quiet",
          ...(unprivileged ? ["--unprivileged"] : []),
        ];
        const conv = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" }).outputSync();
        assert.ok(conv.success, new TextDecoder().decode(conv.stderr));
        const idmap: IdMap | undefined = unprivileged
          ? { uid: [{ container: 0, host: 100000, size: 65536 }], gid: [{ container: 0, host: 100000, size: 65536 }] }
          : undefined;
        if (unprivileged) assert.equal(Deno.statSync(`${dest}/rootfs/work`).uid, 101000, "the rootfs holds host ids");
        const out = `${ws.base}/busybox-${unprivileged ? "u" : "p"}.tar.zst`;
        const result = await writePveTemplate(`${dest}/rootfs`, out, { idmap });
        const { members } = readTar(unzstd(out));
        assert.equal(result.members, members.length);
        const m = byName(members);
        assert.deepEqual([m.get(".")!.entry.uid, m.get(".")!.entry.gid], [0, 0]);
        // Every path of the image's rootfs is a member with the image's type, mode and container owner.
        for (const [path, [type, mode, uid, gid, size, target, group]] of expected) {
          const x = m.get(`.${path}`);
          assert.ok(x, `member .${path}`);
          const e = x.entry;
          assert.deepEqual([e.mode, e.uid, e.gid], [parseInt(mode!, 8), Number(uid), Number(gid)], path);
          if (type === "dir") assert.equal(e.type, "directory", path);
          if (type === "symlink") assert.deepEqual([e.type, latin1(e.linkPath)], ["symlink", target], path);
          if (type === "file" && group !== "-" && group !== path) {
            assert.deepEqual([e.type, latin1(e.linkPath)], ["hardlink", `.${group}`], path);
          } else if (type === "file") {
            assert.deepEqual([e.type, e.size], ["file", Number(size)], path);
          }
        }
        // Besides the image's paths, only what the conversion created (none for busybox) and the root.
        assert.deepEqual(
          members.map((x) => latin1(x.entry.path)).filter((n) => n !== "." && !expected.has(n.slice(1))),
          [],
        );
        const back = `${ws.base}/back-${unprivileged ? "u" : "p"}`;
        pctExtract(out, back);
        const sh = run("chroot", [back, "/bin/sh", "-c", "echo ok"]).stdout;
        assert.equal(new TextDecoder().decode(sh), "ok\n");
      });
    }
  } finally {
    ws.done();
  }
});

/** `getfacl -n` of each path under `root`, without the `# file:` line (owners are numeric). */
function facls(root: string, paths: readonly string[]): string[] {
  return paths.map((p) =>
    `${p}: ${
      new TextDecoder().decode(run("getfacl", ["-n", "-p", "--omit-header", `${root}/${p}`]).stdout).trim()
        .replaceAll("\n", ",")
    } mode ${(Deno.statSync(`${root}/${p}`).mode! & 0o7777).toString(8)}`
  );
}

systemTest(
  "writePveTemplate keeps POSIX ACLs through pct's extraction, with container ids, as SCHILY.acl records",
  async () => {
    const ws = workspace();
    const idmap: IdMap = {
      uid: [{ container: 0, host: 200000, size: 100000 }],
      gid: [{ container: 0, host: 200000, size: 100000 }],
    };
    try {
      // The source tree: ACLs set by the real setfacl on a plain (not id-mapped) rootfs.
      Deno.mkdirSync(`${ws.src}/shared`);
      Deno.writeTextFileSync(`${ws.src}/secret`, "s\n", { mode: 0o640 });
      Deno.chmodSync(`${ws.src}/secret`, 0o640);
      run("setfacl", ["-m", "u:1234:r,g:5678:r,m:r", `${ws.src}/secret`]);
      run("setfacl", ["-d", "-m", "u:1234:rwx,g::rx,o::-", `${ws.src}/shared`]);
      run("setfacl", ["-m", "g:33:rwx", `${ws.src}/shared`]);
      const paths = ["secret", "shared"];
      const want = facls(ws.src, paths);
      assert.ok(want[0]!.includes("user:1234:r--") && want[0]!.endsWith("mode 640"), want[0]);
      assert.ok(want[1]!.includes("default:user:1234:rwx"), want[1]);

      const out = `${ws.base}/t.tar.zst`;
      await writePveTemplate(ws.src, out);
      const m = byName(readTar(unzstd(out)).members);
      assert.ok(m.get("./secret")!.entry.xattrs.has("system.posix_acl_access"));
      const ct = `${ws.base}/ct`;
      pctExtract(out, ct);
      assert.deepEqual(facls(ct, paths), want, "pct's tar (--acls, xattrs only user.* and security.capability)");

      // The same ACLs on an id-mapped rootfs (host ids 200000+ on disk) come out with container ids.
      const xattrOf = (path: string, name: string) => {
        const fd = check(openat(AT_FDCWD, enc.encode(path), O_RDONLY), "openat");
        try {
          return getxattrFd(fd, name) as Uint8Array;
        } finally {
          close(fd);
        }
      };
      const mapped = `${ws.base}/mapped`;
      apply(mapped, [[
        file("secret", "s\n", {
          mode: 0o640,
          xattrs: { "system.posix_acl_access": xattrOf(`${ws.src}/secret`, "system.posix_acl_access") },
        }),
        dir("shared", {
          xattrs: {
            "system.posix_acl_access": xattrOf(`${ws.src}/shared`, "system.posix_acl_access"),
            "system.posix_acl_default": xattrOf(`${ws.src}/shared`, "system.posix_acl_default"),
          },
        }),
      ]], { idmap });
      assert.ok(facls(mapped, ["secret"])[0]!.includes("user:201234:r--"), "the rootfs holds host ids");
      const mappedOut = `${ws.base}/mapped.tar.zst`;
      await writePveTemplate(mapped, mappedOut, { idmap });
      const ct2 = `${ws.base}/ct2`;
      pctExtract(mappedOut, ct2);
      assert.deepEqual(facls(ct2, paths), want);
    } finally {
      ws.done();
    }
  },
);

systemTest(
  "writePveTemplate removes the partial template a killed run left for the same file, and keeps a live run's",
  async () => {
    const ws = workspace();
    try {
      apply(ws.src, [[file("a", "a")]]);
      const out = `${ws.base}/t.tar.zst`;
      // A SIGKILL during the template (which can take minutes) left OUT.partial-PID for good: nothing removed it.
      Deno.writeTextFileSync(`${out}.partial-999999`, "old style, owner gone");
      Deno.writeTextFileSync(`${out}.partial-999999-1`, "owner gone");
      // The parent process (deno test's runner or a shell) is alive: a partial named after it is a live run's.
      Deno.writeTextFileSync(`${out}.partial-${Deno.ppid}-${startTime(Deno.ppid)}`, "a live run's");
      Deno.writeTextFileSync(`${ws.base}/other.tar.zst.partial-999999-1`, "another template's");
      const warnings: string[] = [];
      await writePveTemplate(ws.src, out, { onWarning: (w) => warnings.push(w) });
      assert.deepEqual([...Deno.readDirSync(ws.base)].map((e) => e.name).sort(), [
        "other.tar.zst.partial-999999-1",
        "src",
        "t.tar.zst",
        `t.tar.zst.partial-${Deno.ppid}-${startTime(Deno.ppid)}`,
      ]);
      assert.deepEqual(warnings.sort(), [
        `removed ${out}.partial-999999, a partial template left by an earlier run (PID 999999) that no longer runs`,
        `removed ${out}.partial-999999-1, a partial template left by an earlier run (PID 999999) that no longer runs`,
      ]);
    } finally {
      ws.done();
    }
  },
);

function startTime(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

systemTest(
  "tarRootfs stops at its next pause once the signal is aborted; writePveTemplate then leaves no file",
  async () => {
    const ws = workspace();
    try {
      apply(ws.src, [
        Array.from({ length: 300 }, (_, i) => file(`f${String(i).padStart(3, "0")}`, "x".repeat(8192 + i))),
      ]);
      // Aborted by the first chunk the walk writes, as SIGINT would come during a long template: the walk must see it
      // itself, between entries.
      const controller = new AbortController();
      let chunks = 0;
      await assert.rejects(
        tarRootfs(ws.src, () => {
          if (chunks++ === 0) controller.abort();
        }, { signal: controller.signal }),
        (err: unknown) => {
          assert.ok(err instanceof Oci2LxcError && err.code === "interrupted", String(err));
          assert.match(err.message, /^Cannot write the template: interrupted while archiving \/f\d+$/);
          return true;
        },
      );
      const out = `${ws.base}/t.tar.zst`;
      await assert.rejects(
        writePveTemplate(ws.src, out, { signal: controller.signal }),
        (err: unknown) => err instanceof Oci2LxcError && err.code === "interrupted",
      );
      assert.deepEqual([...Deno.readDirSync(ws.base)].map((e) => e.name), ["src"], "no template and no partial file");
    } finally {
      ws.done();
    }
  },
);
