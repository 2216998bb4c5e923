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
