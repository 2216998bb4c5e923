import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { guardDestination } from "../../core/rootfs/dest_guard.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

/** The error guardDestination throws for `dest`, or undefined when it lets it through. */
function refusal(dest: string, options: Parameters<typeof guardDestination>[1]): Oci2LxcError | undefined {
  try {
    guardDestination(dest, options);
    return undefined;
  } catch (err) {
    assert(err instanceof Oci2LxcError, String(err));
    return err;
  }
}

Deno.test("guardDestination refuses / and the system's directories themselves, even with --replace-any", () => {
  for (
    const dest of ["/", "/etc", "/etc/", "/usr", "/var", "/home", "/root", "/boot", "/bin", "/lib", "/lib64", "/sbin"]
  ) {
    for (const replaceAny of [false, true]) {
      const err = refusal(dest, { force: true, replaceAny });
      assert(err?.code === "destination", `${dest}: ${err?.message}`);
      assert(/^Cannot replace \/\w*: it is a system directory$/.test(err.message), err.message);
    }
  }
  for (const dest of ["/srv", "/opt", "/proc", "/sys", "/dev", "/run", "/tmp", "/usr/../etc"]) {
    assert(refusal(dest, { force: true, replaceAny: true })?.message.includes("system directory"), dest);
  }
  // A directory inside one is no system directory; it still needs to look like a container.
  assert(refusal("/etc/default", { force: true })?.message.includes("does not look like a container"));
});

Deno.test("guardDestination refuses an empty DEST and --replace-any without --force as usage errors", () => {
  for (const dest of ["", "  "]) {
    const err = refusal(dest, { force: true });
    assert.deepEqual(err?.code, "usage");
    assert.deepEqual(err?.message, "Cannot use an empty DEST: it names no directory");
  }
  assert.deepEqual(refusal("/nonexistent/ct", { replaceAny: true })?.code, "usage");
});

Deno.test("guardDestination refuses the working directory and its ancestors, also through a symlinked parent", async () => {
  await withTempDir((dir) => {
    Deno.mkdirSync(`${dir}/a/b/work`, { recursive: true });
    Deno.symlinkSync(`${dir}/a`, `${dir}/link`);
    const cwd = `${dir}/a/b/work`;
    const real = Deno.realPathSync(dir);
    for (const [dest, target] of [[".", "a/b/work"], ["..", "a/b"], ["../..", "a"], [`${dir}/link/b`, "a/b"]]) {
      const err = refusal(dest!, { force: true, replaceAny: true, cwd });
      assert(err?.message.startsWith(`Cannot replace ${real}/${target}: it is the working directory`), err?.message);
    }
  });
});

Deno.test("guardDestination lets --force replace a container or an empty directory, and others only with --replace-any", async () => {
  await withTempDir((dir) => {
    Deno.mkdirSync(`${dir}/ct/rootfs`, { recursive: true });
    Deno.mkdirSync(`${dir}/empty`);
    Deno.mkdirSync(`${dir}/data`);
    Deno.writeTextFileSync(`${dir}/data/db`, "x");
    Deno.writeTextFileSync(`${dir}/file`, "x");
    assert.deepEqual(guardDestination(`${dir}/ct`, { force: true }).exists, true);
    assert.deepEqual(guardDestination(`${dir}/empty`, { force: true }).exists, true);
    assert.deepEqual(guardDestination(`${dir}/new`, {}).exists, false);
    for (const dest of ["data", "file"]) {
      assert(
        refusal(`${dir}/${dest}`, { force: true })?.message.endsWith(
          "does not look like a container (no config or rootfs in it)",
        ),
      );
      assert.deepEqual(guardDestination(`${dir}/${dest}`, { force: true, replaceAny: true }).exists, true);
    }
    const err = refusal(`${dir}/ct`, {});
    assert.deepEqual(err?.message, `Cannot write ${dir}/ct: it already exists`);
    assert.deepEqual(guardDestination(`${dir}/ct`, { dryRun: true }).exists, true);
  });
});

systemTest("guardDestination refuses a DEST with a mount point in it, found in /proc/self/mountinfo", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/ct/rootfs/proc`, { recursive: true });
    const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "t", `${dir}/ct/rootfs/proc`] }).output();
    assert(mount.success);
    try {
      const err = refusal(`${dir}/ct`, { force: true, replaceAny: true });
      assert.deepEqual(err?.message, `Cannot replace ${dir}/ct: ${dir}/ct/rootfs/proc is mounted in it`);
    } finally {
      await new Deno.Command("umount", { args: [`${dir}/ct/rootfs/proc`] }).output();
    }
  });
});

Deno.test("guardDestination with --format pve refuses only an empty DEST and system directories", () => {
  assert.deepEqual(refusal("/etc", { format: "pve" })?.message.includes("system directory"), true);
  assert.deepEqual(refusal("", { format: "pve" })?.code, "usage");
  assert.deepEqual(guardDestination(".", { format: "pve", cwd: "/var/tmp" }).absDest, "/var/tmp");
  assert.throws(
    () => guardDestination("/", { format: "pve", force: true }),
    (err) => err instanceof Oci2LxcError && err.message.includes("system directory"),
  );
});

Deno.test("guardDestination refuses a system directory named by another path: /usr/lib is /lib on a merged /usr", async () => {
  // Debian 12 and later: /lib, /bin, /sbin are symlinks into /usr, so /usr/lib is the directory /lib names.
  const merged = ["/lib", "/bin", "/sbin"].filter((d) => Deno.lstatSync(d).isSymlink);
  assert(merged.length > 0, "this test needs a merged /usr (Debian 12's default)");
  await withTempDir((dir) => {
    Deno.symlinkSync("/usr", `${dir}/usr`);
    for (const d of merged) {
      const real = Deno.realPathSync(d);
      for (const dest of [real, `${dir}${real}`]) {
        const err = refusal(dest, { force: true, replaceAny: true });
        assert.deepEqual(err?.message, `Cannot replace ${real}: it is the system directory ${d} (by another path)`);
      }
    }
    // Proxmox VE output is written into DEST, so a symlink to /etc is /etc.
    Deno.symlinkSync("/etc", `${dir}/etc`);
    assert.deepEqual(
      refusal(`${dir}/etc`, { format: "pve" })?.message,
      `Cannot write Proxmox VE output into ${dir}/etc: it is the system directory /etc (by another path)`,
    );
    // A symlink to a container: --force would replace the link, so it says that rather than "no config or rootfs".
    Deno.mkdirSync(`${dir}/data/ct/rootfs`, { recursive: true });
    Deno.symlinkSync(`${dir}/data/ct`, `${dir}/ct`);
    assert.deepEqual(
      refusal(`${dir}/ct`, { force: true })?.message,
      `Cannot replace ${dir}/ct: it is a symlink (to ${dir}/data/ct)`,
    );
    // Replaced as an entry, a symlink is only a link: replacing it leaves /etc alone.
    assert.deepEqual(guardDestination(`${dir}/etc`, { force: true, replaceAny: true }).target, `${dir}/etc`);
  });
});

systemTest("guardDestination refuses an ancestor of the working directory seen through a bind mount", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/a/b/work`, { recursive: true });
    Deno.mkdirSync(`${dir}/alias`);
    const mount = await new Deno.Command("mount", { args: ["--bind", `${dir}/a`, `${dir}/alias`] }).output();
    assert(mount.success);
    try {
      for (const dest of [`${dir}/alias/b`, `${dir}/alias/b/work`]) {
        const err = refusal(dest, { force: true, replaceAny: true, cwd: `${dir}/a/b/work` });
        assert(err?.message.startsWith(`Cannot replace ${dest}: it is the working directory`), err?.message);
      }
    } finally {
      await new Deno.Command("umount", { args: [`${dir}/alias`] }).output();
    }
  });
});

Deno.test("guardDestination refuses an LXC path, also one holding containers named config and rootfs", async () => {
  await withTempDir((dir) => {
    // Each of these has a directory `config` or `rootfs`, which made the LXC path "look like a container".
    for (const names of [["config", "web"], ["rootfs"], ["config", "rootfs", "a", "b", "c"]]) {
      const lxcpath = `${dir}/lxc-${names.length}`;
      for (const name of names) {
        Deno.mkdirSync(`${lxcpath}/${name}/rootfs`, { recursive: true });
        Deno.writeTextFileSync(`${lxcpath}/${name}/config`, `lxc.uts.name = ${name}\n`);
      }
      const err = refusal(lxcpath, { force: true });
      assert(err?.message.startsWith(`Cannot replace ${lxcpath}: it holds containers (`), err?.message);
      assert.deepEqual(
        err?.hint,
        "Pass one container's directory (LXCPATH/NAME), not the LXC path; --replace-any replaces it all",
      );
      // One of its containers is still a container.
      assert.deepEqual(guardDestination(`${lxcpath}/${names[0]}`, { force: true }).exists, true);
    }
    // A container whose rootfs happens to hold a directory with a config file is still a container.
    Deno.mkdirSync(`${dir}/ct/rootfs/etc/app`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/ct/config`, "lxc.uts.name = ct\n");
    Deno.writeTextFileSync(`${dir}/ct/rootfs/etc/app/config`, "x");
    assert.deepEqual(guardDestination(`${dir}/ct`, { force: true }).exists, true);
  });
});

Deno.test("guardDestination refuses a DEST name too long for the staging directory and lock beside it", () => {
  // 230 bytes is a valid directory name, but ".NAME.oci2lxc-staging-PID-START-XXXXXXXX.old" is not: the run failed in
  // the middle with ENAMETOOLONG (and at 300 bytes with "Check that DIR is writable").
  for (const [name, bytes] of [["a".repeat(197), 197], ["é".repeat(99), 198]] as const) {
    const err = refusal(`/var/tmp/${name}`, { format: "lxc" });
    assert.deepEqual(err?.code, "usage");
    assert(err?.message.includes(`its name is ${bytes} bytes`), err?.message);
    assert.deepEqual(err?.hint, "Choose a DEST whose last component has at most 196 bytes");
  }
  assert.deepEqual(guardDestination(`/nonexistent/${"a".repeat(196)}`, {}).exists, false);
});

systemTest("guardDestination never replaces a device node, FIFO or socket, even with --replace-any", async () => {
  // --replace-any means any directory (or file): /dev/null replaced by a directory breaks the host.
  await withTempDir(async (dir) => {
    const mk = await new Deno.Command("sh", {
      args: ["-c", `mknod '${dir}/null' c 1 3 && mkfifo '${dir}/fifo'`],
    }).output();
    assert(mk.success);
    for (
      const [dest, what] of [["/dev/null", "a character device"], [`${dir}/null`, "a character device"], [
        `${dir}/fifo`,
        "a FIFO",
      ]]
    ) {
      assert.deepEqual(
        refusal(dest!, { force: true, replaceAny: true, dryRun: true })?.message,
        `Cannot replace ${dest}: it is ${what}, not a container`,
      );
    }
  });
});
