/**
 * A system container: an image whose command is an init. Built at test time
 * from the host's static busybox (its `init` applet, an inittab), converted
 * by the CLI, booted by `lxc-start`, stopped by `lxc-stop` through the halt
 * signal LXC sends to an init.
 */
import assert from "node:assert/strict";
import { tarOf, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { forceStop, sh } from "./_lxc.ts";
import { cli } from "./_cli.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const INITTAB = [
  "::sysinit:/bin/sh -c 'echo booted:$PPID > /var/marker/booted'",
  "::respawn:/bin/sleep 100000",
  "::shutdown:/bin/sh -c 'echo clean > /var/marker/shutdown'",
  "",
].join("\n");

async function systemImage(dir: string): Promise<string> {
  const root = `${dir}/tree`;
  for (const d of ["bin", "sbin", "etc", "var/marker", "dev", "proc", "sys", "tmp"]) {
    Deno.mkdirSync(`${root}/${d}`, { recursive: true });
  }
  Deno.copyFileSync("/bin/busybox", `${root}/bin/busybox`);
  for (const applet of ["sh", "sleep", "echo"]) Deno.symlinkSync("busybox", `${root}/bin/${applet}`);
  Deno.symlinkSync("/bin/busybox", `${root}/sbin/init`);
  Deno.writeTextFileSync(`${root}/etc/inittab`, INITTAB);
  Deno.writeTextFileSync(`${root}/etc/os-release`, "ID=busybox\n");
  const image = await writeOciDir(`${dir}/image`, [{ tar: await tarOf(root), compression: "gzip" }], {
    Cmd: ["/sbin/init"],
  });
  return image.dir;
}

Deno.test("a system container boots its init and stops cleanly by lxc-stop", async () => {
  await withTempDir(async (dir) => {
    const image = await systemImage(dir);
    const name = `o2l-sys-${crypto.randomUUID().slice(0, 6)}`;
    const dest = `${dir}/${name}`;
    const r = await cli("main.ts", ["convert", `oci:${image}`, dest, "--json", "--quiet"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.container.kind, "system");
    assert.deepEqual(report.container.argv, ["/sbin/init"]);
    const config = Deno.readTextFileSync(`${dest}/config`);
    assert(config.includes("lxc.init.cmd = /sbin/init"), config);
    assert(!config.includes(".lxcinit"), "a system container runs its own init, not LXC's");
    try {
      const started = await sh(["lxc-start", "-n", name, "-P", dir, "-d", "-l", "DEBUG", "-o", `${dir}/lxc.log`]);
      assert.deepEqual(started.code, 0, started.out);
      const booted = await waitFor("the init's sysinit line", 15_000, () => {
        try {
          // `echo > file` creates the file before it writes: only a whole line counts.
          const text = Deno.readTextFileSync(`${dest}/rootfs/var/marker/booted`);
          return text.endsWith("\n") ? text : undefined;
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(booted, "booted:1\n", "sysinit was started by PID 1 (the image's init)");
      // --nokill: only LXC's halt signal, never a kill; success means the init halted on it.
      const stopped = await sh(["lxc-stop", "-n", name, "-P", dir, "--nokill", "-t", "60"]);
      assert.deepEqual(stopped.code, 0, `the init did not halt on LXC's signal: ${stopped.out}`);
      assert.deepEqual(Deno.readTextFileSync(`${dest}/rootfs/var/marker/shutdown`), "clean\n");
    } finally {
      await forceStop(name, dir);
    }
  });
});
