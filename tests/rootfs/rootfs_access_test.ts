/**
 * RootfsAccess, the confined API plugins get as `context.rootfs`, method by method on a real temp rootfs (the suite
 * runs as root, so owners and device nodes are real). Each confinement promise of its doc comments is asserted with
 * the exact error it gives. Indirect coverage lives elsewhere and is not repeated here: the built-in plugins through
 * it in tests/plugins/builtin_plugins_test.ts (hosts-files and a host-file symlink at /etc/hostname among them), the
 * layer writer's breakout list in tests/rootfs/breakout_test.ts, and the planner's reads in tests/plan/.
 */
import assert from "node:assert/strict";
import { AT_FDCWD, close, makedev, mknodat, O_WRONLY, openat, S_IFCHR, S_IFIFO } from "../../core/native/libc.ts";
import type { IdMap } from "../../core/rootfs/id_map.ts";
import { RootfsAccess } from "../../core/rootfs/rootfs_access.ts";
import { systemTest } from "../_helpers/tier.ts";

const encoder = new TextEncoder();
const O_NONBLOCK = 0o4000; // the same on x86_64 and aarch64
const SHIFTED: IdMap = {
  uid: [{ container: 0, host: 100000, size: 65536 }],
  gid: [{ container: 0, host: 200000, size: 65536 }],
};

/** A temp dir holding `rootfs/` and, beside it, `outside/` with a file nothing may change or read. */
interface Sandbox extends Disposable {
  dir: string;
  root: string;
  outside: string;
  access: RootfsAccess;
}

function sandbox(options: { idmap?: IdMap } = {}): Sandbox {
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc-access-" });
  const root = `${dir}/rootfs`;
  const outside = `${dir}/outside`;
  Deno.mkdirSync(`${root}/etc`, { recursive: true });
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(`${outside}/secret`, "host\n");
  const access = new RootfsAccess(root, options);
  return {
    dir,
    root,
    outside,
    access,
    [Symbol.dispose]() {
      access.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Run `fn`, which must throw an Oci2LxcError of code "rootfs" with exactly `message` (and `hint`, when given). */
function refuses(fn: () => unknown, message: string, hint?: RegExp): void {
  assert.throws(fn, { name: "Oci2LxcError", message, code: "rootfs", ...(hint ? { hint } : {}) });
}

function owner(path: string): [number, number, number] {
  const st = Deno.lstatSync(path);
  return [st.uid!, st.gid!, st.mode! & 0o7777];
}

function mknod(path: string, mode: number, major = 0, minor = 0): void {
  const made = mknodat(AT_FDCWD, encoder.encode(path), mode, makedev(major, minor));
  assert.deepEqual(made, 0, `mknod ${path}`);
}

const text = (bytes: Uint8Array | undefined) => bytes === undefined ? undefined : new TextDecoder().decode(bytes);

// --- reads ------------------------------------------------------------------------------------------------------

Deno.test("readFile() and readText() read regular files, following relative and absolute symlinks inside the root", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/os-release`, "ID=debian\n");
  Deno.mkdirSync(`${s.root}/usr/lib`, { recursive: true });
  Deno.writeFileSync(`${s.root}/usr/lib/bytes`, new Uint8Array([0, 255, 10]));
  Deno.symlinkSync("../etc/os-release", `${s.root}/usr/os-release`);
  Deno.symlinkSync("/usr/os-release", `${s.root}/etc/abs`);
  assert.deepEqual(text(s.access.readFile("/etc/os-release")), "ID=debian\n");
  assert.deepEqual(s.access.readFile("usr/lib/bytes"), new Uint8Array([0, 255, 10]));
  assert.deepEqual(s.access.readText("/usr/os-release"), "ID=debian\n");
  assert.deepEqual(s.access.readText("/etc/abs"), "ID=debian\n");
  assert.deepEqual(s.access.readText("//etc///./os-release"), "ID=debian\n", "empty and . components are skipped");
  assert.deepEqual(s.access.readText("/etc/empty"), undefined);
});

systemTest("readFile() gives undefined for a directory, a device, a missing file, a dangling link and a loop", () => {
  using s = sandbox();
  mknod(`${s.root}/etc/null`, S_IFCHR | 0o666, 1, 3);
  Deno.symlinkSync("/nowhere", `${s.root}/etc/dangling`);
  Deno.symlinkSync("b", `${s.root}/etc/a`);
  Deno.symlinkSync("a", `${s.root}/etc/b`);
  Deno.symlinkSync("/etc", `${s.root}/etc/dirlink`);
  for (
    const path of ["/", "/etc", "/etc/dirlink", "/etc/null", "/etc/missing", "/etc/dangling", "/etc/a", "/etc/x/y"]
  ) {
    assert.deepEqual(s.access.readFile(path), undefined, path);
    assert.deepEqual(s.access.readText(path), undefined, path);
  }
});

Deno.test("readFile() refuses a file above its limit with the exact error, and reads one at the limit", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/big`, "12345");
  assert.deepEqual(text(s.access.readFile("/etc/big", 5)), "12345");
  refuses(() => s.access.readFile("/etc/big", 4), "Cannot read /etc/big in the rootfs: it is larger than 4 bytes");
});

Deno.test("readFile() never opens a FIFO, so an image cannot make a plugin wait forever for a writer", async () => {
  using s = sandbox();
  const fifo = `${s.root}/etc/os-release`;
  mknod(fifo, S_IFIFO | 0o644);
  const module = new URL("../../core/rootfs/rootfs_access.ts", import.meta.url).href;
  const script = `import { RootfsAccess } from ${JSON.stringify(module)};
const access = new RootfsAccess(${JSON.stringify(s.root)});
console.log(String(access.readFile("/etc/os-release")));
access.close();`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "inherit" })
    .spawn();
  let exited = false;
  const output = child.output().finally(() => exited = true);
  // A writer's non-blocking open succeeds only while a reader holds the FIFO open (or waits in open() for a
  // writer); it also releases such a reader, so the child ends either way and the loop ends with it.
  let opened = false;
  for (let polls = 0; !exited && polls < 20_000; polls++) {
    const fd = openat(AT_FDCWD, encoder.encode(fifo), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) {
      opened = true;
      close(fd);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (!exited) child.kill();
  const { success, stdout } = await output;
  assert.deepEqual([success, new TextDecoder().decode(stdout)], [true, "undefined\n"]);
  assert.deepEqual(opened, false, "readFile() opened the FIFO");
});

Deno.test("exists(), kind() and lkind() tell files, directories, others, symlinks and missing paths apart", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/file`, "");
  mknod(`${s.root}/etc/fifo`, S_IFIFO | 0o644);
  Deno.symlinkSync("file", `${s.root}/etc/to-file`);
  Deno.symlinkSync("/etc", `${s.root}/to-etc`);
  Deno.symlinkSync("../../../missing", `${s.root}/etc/dangling`);
  Deno.symlinkSync("loop", `${s.root}/etc/loop`);
  const table: [string, boolean, string | undefined, string | undefined][] = [
    // path, exists, kind, lkind
    ["/", true, "directory", "directory"],
    ["", true, "directory", "directory"],
    ["/etc", true, "directory", "directory"],
    ["/etc/file", true, "file", "file"],
    ["/etc/fifo", true, "other", "other"],
    ["/etc/to-file", true, "file", "symlink"],
    ["/to-etc", true, "directory", "symlink"],
    ["/to-etc/file", true, "file", "file"],
    ["/to-etc/to-file", true, "file", "symlink"],
    ["/etc/dangling", false, undefined, "symlink"],
    ["/etc/loop", false, undefined, "symlink"],
    ["/etc/missing", false, undefined, undefined],
    ["/etc/file/below", false, undefined, undefined],
    ["/etc/../../../etc/file", true, "file", "file"],
  ];
  for (const [path, exists, kind, lkind] of table) {
    assert.deepEqual([s.access.exists(path), s.access.kind(path), s.access.lkind(path)], [exists, kind, lkind], path);
  }
});

Deno.test("realPath() resolves every symlink inside the root, and is undefined for what is not there", () => {
  using s = sandbox();
  Deno.mkdirSync(`${s.root}/lib/systemd`, { recursive: true });
  Deno.writeTextFileSync(`${s.root}/lib/systemd/systemd`, "");
  Deno.mkdirSync(`${s.root}/usr`);
  Deno.symlinkSync("../lib", `${s.root}/usr/lib`);
  Deno.mkdirSync(`${s.root}/sbin`);
  Deno.symlinkSync("/usr/lib/systemd/systemd", `${s.root}/sbin/init`);
  Deno.symlinkSync("../../../../lib", `${s.root}/etc/up`);
  Deno.symlinkSync(s.outside, `${s.root}/etc/host`);
  assert.deepEqual(s.access.realPath("/sbin/init"), "/lib/systemd/systemd");
  assert.deepEqual(s.access.realPath("/usr/lib/systemd"), "/lib/systemd");
  assert.deepEqual(s.access.realPath("/etc/up/systemd/systemd"), "/lib/systemd/systemd");
  assert.deepEqual(s.access.realPath("/"), "/");
  assert.deepEqual(s.access.realPath("/etc"), "/etc");
  assert.deepEqual(s.access.realPath("/etc/host"), undefined, "an absolute host path is re-rooted, and not there");
  assert.deepEqual(s.access.realPath("/etc/missing"), undefined);
});

Deno.test("isDirEmpty() is true, false, or undefined for a missing path or a non-directory", () => {
  using s = sandbox();
  Deno.mkdirSync(`${s.root}/run`);
  Deno.mkdirSync(`${s.root}/var`);
  Deno.symlinkSync("/run", `${s.root}/var/run`);
  Deno.writeTextFileSync(`${s.root}/etc/file`, "");
  mknod(`${s.root}/etc/fifo`, S_IFIFO | 0o644);
  assert.deepEqual(s.access.isDirEmpty("/run"), true);
  assert.deepEqual(s.access.isDirEmpty("/var/run"), true);
  assert.deepEqual(s.access.isDirEmpty("/etc"), false);
  assert.deepEqual(s.access.isDirEmpty("/etc/file"), undefined);
  assert.deepEqual(s.access.isDirEmpty("/etc/fifo"), undefined);
  assert.deepEqual(s.access.isDirEmpty("/missing"), undefined);
});

// --- reads never leave the root --------------------------------------------------------------------------------

Deno.test("reads never leave the root: absolute links, .., relative links climbing out, symlinked parents", () => {
  using s = sandbox();
  Deno.symlinkSync(`${s.outside}/secret`, `${s.root}/etc/abs`);
  Deno.symlinkSync("../../../../../../..", `${s.root}/etc/up`);
  Deno.symlinkSync("../outside", `${s.root}/sibling`);
  Deno.symlinkSync(s.outside, `${s.root}/hostdir`);
  const relative = `${"../".repeat(8)}${s.outside.slice(1)}/secret`;
  for (
    const path of [
      "/etc/abs",
      `/etc/up${s.outside}/secret`,
      "/sibling/secret",
      "/hostdir/secret",
      `/../../../..${s.outside}/secret`,
      relative,
    ]
  ) {
    assert.deepEqual(s.access.readFile(path), undefined, path);
    assert.deepEqual(s.access.exists(path), false, path);
    assert.deepEqual(s.access.realPath(path), undefined, path);
  }
  // The same names, once the rootfs has them, are found inside it.
  Deno.mkdirSync(`${s.root}${s.outside}`, { recursive: true });
  Deno.writeTextFileSync(`${s.root}${s.outside}/secret`, "inside\n");
  assert.deepEqual(s.access.readText("/etc/abs"), "inside\n");
  assert.deepEqual(s.access.readText("/hostdir/secret"), "inside\n");
  assert.deepEqual(s.access.realPath("/etc/abs"), `${s.outside}/secret`);
});

Deno.test("a .. after a symlink goes up from where the link led, as the kernel (and the container) reads it", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/x`, "root\n");
  Deno.mkdirSync(`${s.root}/run/lock`, { recursive: true });
  Deno.mkdirSync(`${s.root}/var`);
  Deno.writeTextFileSync(`${s.root}/var/x`, "var\n");
  Deno.symlinkSync("/run", `${s.root}/var/run`);
  Deno.symlinkSync("../var/run/../x", `${s.root}/etc/link`);
  Deno.symlinkSync("/var/run/lock/..", `${s.root}/etc/dir`);
  assert.deepEqual(s.access.readText("/var/run/../x"), "root\n");
  assert.deepEqual(s.access.realPath("/var/run/../x"), "/x");
  assert.deepEqual(s.access.readText("/etc/link"), "root\n");
  assert.deepEqual(s.access.realPath("/etc/link"), "/x");
  assert.deepEqual(s.access.realPath("/var/run/lock/.."), "/run");
  assert.deepEqual(s.access.realPath("/etc/dir"), "/run");
  assert.deepEqual(s.access.realPath("/var/run/.."), "/");
  assert.deepEqual([s.access.kind("/var/run/.."), s.access.lkind("/var/run/..")], ["directory", "directory"]);
  assert.deepEqual([s.access.kind("/var/run/../x"), s.access.lkind("/var/run/../x")], ["file", "file"]);
  assert.deepEqual(s.access.isDirEmpty("/var/run/lock/.."), false);
  s.access.writeFile("/var/run/../y", "y\n");
  s.access.mkdir("/var/run/../made");
  s.access.symlink("x", "/var/run/../link");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/y`), "y\n");
  assert(Deno.lstatSync(`${s.root}/made`).isDirectory);
  assert.deepEqual(Deno.readLinkSync(`${s.root}/link`), "x");
  assert.deepEqual([...Deno.readDirSync(`${s.root}/var`)].map((e) => e.name).sort(), ["run", "x"]);
  refuses(() => s.access.writeFile("/var/run/..", "x"), "Cannot write /var/run/.. in the rootfs: it names the root");
  refuses(
    () => s.access.writeFile("/var/run/lock/..", "x"),
    "Cannot write /var/run/lock/.. in the rootfs: it is a directory",
  );
  refuses(() => s.access.symlink("x", "/var/run/.."), "Cannot create a symlink at /var/run/..: it names the root");
  assert(Deno.lstatSync(`${s.root}/run`).isDirectory);
});

// --- writes -----------------------------------------------------------------------------------------------------

systemTest("writeFile() creates the file and its missing parents, 0644 and 0755, owned by root", () => {
  using s = sandbox();
  s.access.writeFile("etc//./motd/", "relative, empty and . components are skipped\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/motd`), "relative, empty and . components are skipped\n");
  s.access.writeFile("/etc/network/interfaces.d/eth0", "auto eth0\n");
  s.access.writeFile("/etc/bytes", new Uint8Array([1, 2, 3]));
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/network/interfaces.d/eth0`), "auto eth0\n");
  assert.deepEqual(Deno.readFileSync(`${s.root}/etc/bytes`), new Uint8Array([1, 2, 3]));
  assert.deepEqual(owner(`${s.root}/etc/network/interfaces.d/eth0`), [0, 0, 0o644]);
  assert.deepEqual(owner(`${s.root}/etc/network`), [0, 0, 0o755]);
  assert.deepEqual(owner(`${s.root}/etc/network/interfaces.d`), [0, 0, 0o755]);
});

systemTest("writeFile() sets the mode (setuid and sticky bits included) and the owner it is given", () => {
  using s = sandbox();
  s.access.writeFile("/usr/bin/tool", "#!/bin/sh\n", { mode: 0o4750, uid: 33, gid: 44 });
  s.access.writeFile("/etc/shadow-", "", { mode: 0o600 });
  assert.deepEqual(owner(`${s.root}/usr/bin/tool`), [33, 44, 0o4750]);
  assert.deepEqual(owner(`${s.root}/etc/shadow-`), [0, 0, 0o600]);
});

systemTest("writeFile() replaces an existing file's content, mode and owner, as if it were new", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/hostname`, "a much longer old name\n");
  Deno.chownSync(`${s.root}/etc/hostname`, 1000, 1000);
  Deno.chmodSync(`${s.root}/etc/hostname`, 0o600);
  s.access.writeFile("/etc/hostname", "ct\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "ct\n");
  assert.deepEqual(owner(`${s.root}/etc/hostname`), [0, 0, 0o644], "the default owner is 0:0, as CreateOptions says");
});

Deno.test("writeFile() replaces a hardlinked file instead of writing through it to the other names", () => {
  using s = sandbox();
  Deno.linkSync(`${s.outside}/secret`, `${s.root}/etc/hostname`); // an inode shared with a file outside the root
  Deno.mkdirSync(`${s.root}/usr`);
  Deno.writeTextFileSync(`${s.root}/usr/motd`, "image\n");
  Deno.linkSync(`${s.root}/usr/motd`, `${s.root}/etc/motd`);
  s.access.writeFile("/etc/hostname", "ct\n");
  s.access.writeFile("/etc/motd", "plugin\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.outside}/secret`), "host\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/usr/motd`), "image\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "ct\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/motd`), "plugin\n");
});

systemTest("writeFile() replaces a symlink, a FIFO or a device at the path, never writing through it", () => {
  using s = sandbox();
  Deno.symlinkSync(`${s.outside}/secret`, `${s.root}/etc/abs`);
  Deno.symlinkSync("../../outside/secret", `${s.root}/etc/rel`);
  Deno.writeTextFileSync(`${s.root}/etc/target`, "image\n");
  Deno.symlinkSync("target", `${s.root}/etc/inside`);
  mknod(`${s.root}/etc/fifo`, S_IFIFO | 0o644);
  mknod(`${s.root}/etc/null`, S_IFCHR | 0o666, 1, 3);
  for (const name of ["abs", "rel", "inside", "fifo", "null"]) {
    s.access.writeFile(`/etc/${name}`, `${name}\n`);
    const st = Deno.lstatSync(`${s.root}/etc/${name}`);
    assert(st.isFile, name);
    assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/${name}`), `${name}\n`);
  }
  assert.deepEqual(Deno.readTextFileSync(`${s.outside}/secret`), "host\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/target`), "image\n");
});

Deno.test("writeFile() follows symlinked parents inside the root only: absolute, relative climbing out, ..", () => {
  using s = sandbox();
  Deno.symlinkSync(s.outside, `${s.root}/hostdir`);
  Deno.symlinkSync("../outside", `${s.root}/sibling`);
  Deno.symlinkSync("../../../../../../..", `${s.root}/etc/up`);
  // Re-rooted, the links point at nothing yet: refused like `mkdir -p` through a dangling link, nothing made.
  const dangling = "is a symlink to a missing path or to something that is not a directory";
  refuses(
    () => s.access.writeFile("/hostdir/secret", "1\n"),
    `Cannot write /hostdir/secret in the rootfs: /hostdir ${dangling}`,
  );
  refuses(
    () => s.access.writeFile("/sibling/secret", "2\n"),
    `Cannot write /sibling/secret in the rootfs: /sibling ${dangling}`,
  );
  assert.deepEqual([...Deno.readDirSync(s.root)].map((e) => e.name).sort(), ["etc", "hostdir", "sibling"]);
  Deno.mkdirSync(`${s.root}${s.outside}`, { recursive: true });
  Deno.mkdirSync(`${s.root}/outside`);
  s.access.writeFile("/hostdir/secret", "1\n");
  s.access.writeFile("/sibling/secret", "2\n");
  s.access.writeFile(`/etc/up${s.outside}/new`, "3\n");
  s.access.writeFile(`/../../..${s.outside}/dotdot`, "4\n");
  assert.deepEqual([...Deno.readDirSync(s.outside)].map((e) => e.name), ["secret"]);
  assert.deepEqual(Deno.readTextFileSync(`${s.outside}/secret`), "host\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}${s.outside}/secret`), "1\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/outside/secret`), "2\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}${s.outside}/new`), "3\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}${s.outside}/dotdot`), "4\n");
});

Deno.test("writeFile() refuses the root, a directory and a file in the way of its parents, with the exact error", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/hostname`, "image\n");
  refuses(() => s.access.writeFile("/", "x"), "Cannot write / in the rootfs: it names the root");
  refuses(() => s.access.writeFile("", "x"), `Cannot write "" in the rootfs: it names the root`);
  refuses(() => s.access.writeFile("//./", "x"), "Cannot write //./ in the rootfs: it names the root");
  refuses(() => s.access.writeFile("/etc/..", "x"), "Cannot write /etc/.. in the rootfs: it names the root");
  refuses(() => s.access.writeFile("/etc", "x"), "Cannot write /etc in the rootfs: it is a directory");
  refuses(
    () => s.access.writeFile("/etc/hostname/x", "x"),
    "Cannot write /etc/hostname/x in the rootfs: /etc/hostname exists and is not a directory",
  );
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "image\n");
});

Deno.test("a symlink swapped in for a directory the access already went through is followed inside the root", () => {
  using s = sandbox();
  Deno.mkdirSync(`${s.root}/etc/network`);
  Deno.mkdirSync(`${s.root}${s.outside}`, { recursive: true });
  s.access.writeFile("/etc/network/interfaces", "first\n");
  Deno.renameSync(`${s.root}/etc/network`, `${s.root}/etc/network.old`);
  Deno.symlinkSync(s.outside, `${s.root}/etc/network`); // the host's path, as an image would write it
  s.access.writeFile("/etc/network/interfaces", "second\n");
  assert.deepEqual([...Deno.readDirSync(s.outside)].map((e) => e.name), ["secret"]);
  assert.deepEqual(Deno.readTextFileSync(`${s.root}${s.outside}/interfaces`), "second\n");
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/network.old/interfaces`), "first\n");
  assert.deepEqual(s.access.readText("/etc/network/interfaces"), "second\n");
});

Deno.test("replacing a symlinked directory with a file or a new link is seen by the next call", () => {
  using s = sandbox();
  Deno.mkdirSync(`${s.root}/data`);
  Deno.writeTextFileSync(`${s.root}/data/x`, "data\n");
  Deno.mkdirSync(`${s.root}/other`);
  Deno.writeTextFileSync(`${s.root}/other/x`, "other\n");
  Deno.symlinkSync("/data", `${s.root}/etc/link`);
  assert.deepEqual(s.access.readText("/etc/link/x"), "data\n");
  s.access.symlink("/other", "/etc/link");
  assert.deepEqual(s.access.readText("/etc/link/x"), "other\n");
  s.access.writeFile("/etc/link", "file\n");
  assert.deepEqual(s.access.readText("/etc/link/x"), undefined);
  assert.deepEqual(s.access.kind("/etc/link"), "file");
});

// --- mkdir ------------------------------------------------------------------------------------------------------

systemTest("mkdir() makes the directory with its mode and owner, and missing parents 0755 root-owned", () => {
  using s = sandbox();
  s.access.mkdir("/var/spool/cron/crontabs", { mode: 0o1730, uid: 0, gid: 105 });
  s.access.mkdir("/srv/app", { uid: 1000, gid: 1000 });
  s.access.mkdir("/srv/shared", { mode: 0o2775 });
  assert.deepEqual(owner(`${s.root}/var/spool/cron/crontabs`), [0, 105, 0o1730]);
  assert.deepEqual(owner(`${s.root}/var/spool/cron`), [0, 0, 0o755]);
  assert.deepEqual(owner(`${s.root}/var`), [0, 0, 0o755]);
  assert.deepEqual(owner(`${s.root}/srv/app`), [1000, 1000, 0o755]);
  assert.deepEqual(owner(`${s.root}/srv/shared`), [0, 0, 0o2775]);
});

systemTest("mkdir() leaves an existing directory as it is, also one reached through a symlink", () => {
  using s = sandbox();
  Deno.mkdirSync(`${s.root}/run`, { mode: 0o700 });
  Deno.chmodSync(`${s.root}/run`, 0o700);
  Deno.mkdirSync(`${s.root}/var`);
  Deno.symlinkSync("/run", `${s.root}/var/run`);
  s.access.mkdir("/run", { mode: 0o755, uid: 7 });
  s.access.mkdir("/var/run/lock");
  assert.deepEqual(owner(`${s.root}/run`), [0, 0, 0o700]);
  assert(Deno.lstatSync(`${s.root}/var/run`).isSymlink);
  assert(Deno.lstatSync(`${s.root}/run/lock`).isDirectory);
  s.access.mkdir("/");
});

Deno.test("mkdir() follows symlinked parents inside the root and refuses a file in the way with the exact error", () => {
  using s = sandbox();
  Deno.symlinkSync(s.outside, `${s.root}/hostdir`);
  Deno.mkdirSync(`${s.root}${s.outside}`, { recursive: true });
  s.access.mkdir("/hostdir/made");
  assert.deepEqual([...Deno.readDirSync(s.outside)].map((e) => e.name), ["secret"]);
  assert(Deno.lstatSync(`${s.root}${s.outside}/made`).isDirectory);
  Deno.writeTextFileSync(`${s.root}/etc/hostname`, "image\n");
  refuses(
    () => s.access.mkdir("/etc/hostname/x"),
    "Cannot create /etc/hostname/x in the rootfs: /etc/hostname exists and is not a directory",
  );
  refuses(
    () => s.access.mkdir("/etc/hostname"),
    "Cannot create /etc/hostname in the rootfs: /etc/hostname exists and is not a directory",
  );
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "image\n");
});

Deno.test("mkdir() and writeFile() do not hold a file descriptor per call", () => {
  using s = sandbox();
  const open = () => [...Deno.readDirSync("/proc/self/fd")].length;
  s.access.mkdir("/srv/0");
  const before = open();
  for (let i = 1; i <= 100; i++) {
    s.access.mkdir(`/srv/${i}/sub`);
    s.access.writeFile(`/srv/${i}/sub/file`, "x");
  }
  const grown = open() - before;
  assert(grown < 20, `${grown} more file descriptors open after 100 calls`);
});

// --- symlink ----------------------------------------------------------------------------------------------------

Deno.test("symlink() stores the target verbatim and replaces a file or a link at the path", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/file`, "");
  Deno.symlinkSync("old", `${s.root}/etc/link`);
  s.access.symlink("/lib/systemd/system/systemd-networkd.service", "/etc/file");
  s.access.symlink("../../../../outside/secret", "/etc/link");
  s.access.symlink(s.outside, "/etc/new");
  assert.deepEqual(Deno.readLinkSync(`${s.root}/etc/file`), "/lib/systemd/system/systemd-networkd.service");
  assert.deepEqual(Deno.readLinkSync(`${s.root}/etc/link`), "../../../../outside/secret");
  assert.deepEqual(Deno.readLinkSync(`${s.root}/etc/new`), s.outside);
  // Stored verbatim, read confined: none of them reaches the file outside.
  assert.deepEqual(s.access.readText("/etc/link"), undefined);
  assert.deepEqual(s.access.readText("/etc/new/secret"), undefined);
});

Deno.test("symlink() refuses the root and a directory with the exact error", () => {
  using s = sandbox();
  refuses(() => s.access.symlink("x", "/"), "Cannot create a symlink at /: it names the root");
  refuses(() => s.access.symlink("x", ""), 'Cannot create a symlink at "": it names the root');
  refuses(() => s.access.symlink("x", "/etc"), "Cannot create a symlink at /etc: a directory is there");
  assert(Deno.lstatSync(`${s.root}/etc`).isDirectory);
});

systemTest("symlink() makes missing parents like mkdir() and never replaces a file in their way", () => {
  using s = sandbox();
  s.access.symlink("../x.service", "/etc/systemd/system/multi-user.target.wants/x.service");
  assert.deepEqual(owner(`${s.root}/etc/systemd/system`), [0, 0, 0o755]);
  Deno.writeTextFileSync(`${s.root}/etc/hostname`, "image\n");
  refuses(
    () => s.access.symlink("x", "/etc/hostname/x"),
    "Cannot create a symlink at /etc/hostname/x: /etc/hostname exists and is not a directory",
  );
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "image\n");
});

// --- id map -----------------------------------------------------------------------------------------------------

systemTest("with an idmap, every owner written is shifted: files, directories, parents and symlinks", () => {
  using s = sandbox({ idmap: SHIFTED });
  s.access.writeFile("/etc/network/interfaces", "auto lo\n");
  s.access.writeFile("/home/app/.profile", "", { uid: 1000, gid: 1000, mode: 0o600 });
  s.access.mkdir("/var/lib/app", { uid: 33, gid: 33, mode: 0o750 });
  s.access.symlink("/lib/x.service", "/etc/systemd/system/multi-user.target.wants/x.service");
  assert.deepEqual(owner(`${s.root}/etc/network/interfaces`), [100000, 200000, 0o644]);
  assert.deepEqual(owner(`${s.root}/etc/network`), [100000, 200000, 0o755]);
  assert.deepEqual(owner(`${s.root}/home/app/.profile`), [101000, 201000, 0o600]);
  assert.deepEqual(owner(`${s.root}/home/app`), [100000, 200000, 0o755]);
  assert.deepEqual(owner(`${s.root}/var/lib/app`), [100033, 200033, 0o750]);
  assert.deepEqual(owner(`${s.root}/var/lib`), [100000, 200000, 0o755]);
  assert.deepEqual(owner(`${s.root}/etc/systemd/system/multi-user.target.wants/x.service`).slice(0, 2), [
    100000,
    200000,
  ]);
  for (const dir of ["/etc/systemd", "/etc/systemd/system", "/etc/systemd/system/multi-user.target.wants"]) {
    assert.deepEqual(owner(`${s.root}${dir}`), [100000, 200000, 0o755], dir);
  }
});

Deno.test("with an idmap, an owner outside it is refused with the exact error before anything is written", () => {
  using s = sandbox({ idmap: SHIFTED });
  refuses(
    () => s.access.writeFile("/etc/app.conf", "x", { uid: 70000 }),
    "Cannot set the owner of /etc/app.conf: 70000:0 is outside the idmap",
    /--idmap/,
  );
  refuses(
    () => s.access.mkdir("/srv/data", { gid: 65536 }),
    "Cannot set the owner of /srv/data: 0:65536 is outside the idmap",
  );
  assert.deepEqual(s.access.exists("/etc/app.conf"), false);
  assert.deepEqual(s.access.exists("/srv/data"), false);
});

// --- paths the API refuses --------------------------------------------------------------------------------------

Deno.test("a path or a symlink target with a NUL byte is refused with the exact error, by every method", () => {
  using s = sandbox();
  Deno.writeTextFileSync(`${s.root}/etc/hostname`, "image\n");
  const bad = "/etc/hostname\0.d";
  const message = 'Cannot use "/etc/hostname\\u0000.d" in the rootfs: a path cannot hold a NUL byte';
  const calls: [string, () => unknown][] = [
    ["readFile", () => s.access.readFile(bad)],
    ["readText", () => s.access.readText(bad)],
    ["exists", () => s.access.exists(bad)],
    ["kind", () => s.access.kind(bad)],
    ["lkind", () => s.access.lkind(bad)],
    ["realPath", () => s.access.realPath(bad)],
    ["isDirEmpty", () => s.access.isDirEmpty(bad)],
    ["mkdir", () => s.access.mkdir(bad)],
    ["writeFile", () => s.access.writeFile(bad, "x")],
    ["symlink path", () => s.access.symlink("x", bad)],
  ];
  for (const [name, call] of calls) {
    assert.throws(call, { name: "Oci2LxcError", message }, name);
  }
  refuses(
    () => s.access.symlink("/etc/hostname\0x", "/etc/link"),
    'Cannot use "/etc/hostname\\u0000x" in the rootfs: a path cannot hold a NUL byte',
  );
  assert.deepEqual(Deno.readTextFileSync(`${s.root}/etc/hostname`), "image\n");
  assert.deepEqual(s.access.lkind("/etc/link"), undefined);
});

// --- close ------------------------------------------------------------------------------------------------------

Deno.test("after close() every method refuses with the exact error, and a second close() is harmless", () => {
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc-access-" });
  try {
    Deno.mkdirSync(`${dir}/a/etc`, { recursive: true });
    Deno.mkdirSync(`${dir}/b/etc`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/b/etc/hostname`, "b\n");
    const a = new RootfsAccess(`${dir}/a`);
    assert.deepEqual(a.kind("/etc"), "directory");
    a.close();
    // Another root opened now is likely to get the closed fd's number: a closed access must not reach it.
    const b = new RootfsAccess(`${dir}/b`);
    try {
      const message = (path: string) => `Cannot use ${path} in the rootfs: its access to ${dir}/a was closed`;
      const calls: [string, () => unknown][] = [
        ["readFile", () => a.readFile("/etc/hostname")],
        ["readText", () => a.readText("/etc/hostname")],
        ["exists", () => a.exists("/etc/hostname")],
        ["kind", () => a.kind("/etc/hostname")],
        ["lkind", () => a.lkind("/etc/hostname")],
        ["realPath", () => a.realPath("/etc/hostname")],
        ["isDirEmpty", () => a.isDirEmpty("/etc")],
        ["mkdir", () => a.mkdir("/etc/made")],
        ["writeFile", () => a.writeFile("/etc/hostname", "a\n")],
        ["symlink", () => a.symlink("x", "/etc/hostname")],
      ];
      for (const [name, call] of calls) {
        assert.throws(call, {
          name: "Oci2LxcError",
          message: message(name === "isDirEmpty" ? "/etc" : name === "mkdir" ? "/etc/made" : "/etc/hostname"),
        }, name);
      }
      a.close();
      assert.deepEqual(b.readText("/etc/hostname"), "b\n", "the second close() closed another access's fd");
      assert.deepEqual([...Deno.readDirSync(`${dir}/b/etc`)].map((e) => e.name), ["hostname"]);
      assert.deepEqual(Deno.readTextFileSync(`${dir}/b/etc/hostname`), "b\n");
    } finally {
      b.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
