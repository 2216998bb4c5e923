/**
 * The LXC template, for real: `oci2lxc install-lxc-template --dir` writes `lxc-oci2lxc`, the host's `lxc-create`
 * runs it (`-t PATH`: a template given by path, as LXC allows) into a test LXC path, and `lxc-start` starts what it
 * made. lxc-create's own config (`-f FILE`, as `lxc.default_config` would be) stays in front of ours.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { cli, ENTRIES, PROJECT_ROOT } from "./_cli.ts";
import { forceStop, sh } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const BUSYBOX = `${PROJECT_ROOT}fixtures/images/busybox.oci.tar`;

/** Install the template into `dir` and return its path. */
async function install(entry: typeof ENTRIES[number], dir: string): Promise<string> {
  const r = await cli(entry, ["install-lxc-template", "--dir", dir]);
  assert.deepEqual(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout, `Installed ${dir}/lxc-oci2lxc: lxc-create -t ${dir}/lxc-oci2lxc -n NAME -- IMAGE\n`);
  return `${dir}/lxc-oci2lxc`;
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] lxc-create -t oci2lxc converts the image into the container, and lxc-start runs it`, async () => {
    await withTempDir(async (dir) => {
      const template = await install(entry, dir);
      assert.deepEqual(Deno.statSync(template).mode! & 0o777, 0o755);
      await Deno.mkdir(`${dir}/lxc`);
      // What lxc.default_config would give; the host's default.conf wants a bridge the test host may not have.
      await Deno.writeTextFile(`${dir}/default.conf`, "lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n");
      const name = `o2l-tpl-${entry === "bundle" ? "b" : "m"}-${crypto.randomUUID().slice(0, 6)}`;
      const path = `${dir}/lxc/${name}`;
      const created = await sh([
        "lxc-create",
        "-t",
        template,
        "-n",
        name,
        "-P",
        `${dir}/lxc`,
        "-f",
        `${dir}/default.conf`,
        "--",
        BUSYBOX,
        "--env",
        "FROM_TEMPLATE=yes",
        "-q",
      ]);
      assert.deepEqual(created.code, 0, created.out);
      assert(created.out.includes(`Converted ${BUSYBOX} into ${name} (${path})`), created.out);
      // LXC's modes stay; its partial marker and our moved-aside directory are gone.
      assert.deepEqual(Deno.statSync(path).mode! & 0o777, 0o770);
      assert.deepEqual(Deno.statSync(`${path}/config`).mode! & 0o777, 0o640);
      assert.deepEqual([...Deno.readDirSync(`${dir}/lxc`)].map((e) => e.name), [name]);
      assert.deepEqual([...Deno.readDirSync(path)].map((e) => e.name).sort(), [
        "config",
        "network",
        "oci2lxc.json",
        "rootfs",
      ]);

      const config = Deno.readTextFileSync(`${path}/config`);
      const lines = config.split("\n");
      assert(lines[0]!.startsWith("# Template used to create this container: "), config);
      const theirs = lines.indexOf("lxc.apparmor.profile = unconfined");
      const ours = lines.indexOf("lxc.include = /usr/share/lxc/config/common.conf");
      assert(theirs > 0 && ours > theirs, config);
      assert.deepEqual(lines.filter((l) => l.startsWith("lxc.net.")), ["lxc.net.0.type = empty"]);
      assert.deepEqual(lines.filter((l) => l.startsWith("lxc.rootfs.path")), [`lxc.rootfs.path = dir:${path}/rootfs`]);
      assert(lines.includes("lxc.environment = FROM_TEMPLATE=yes"), config);

      try {
        const started = await sh(["lxc-start", "-n", name, "-P", `${dir}/lxc`, "-d", "-o", `${dir}/lxc.log`]);
        assert.deepEqual(started.code, 0, started.out);
        const report = await waitFor("the app's report", 15_000, () => {
          try {
            const text = Deno.readTextFileSync(`${path}/rootfs/data/report`);
            return text.includes("env:") ? text : undefined;
          } catch {
            return undefined;
          }
        });
        assert(report.includes("argv[1]=two words"), report);
        assert(report.includes("env:FROM_TEMPLATE=yes"), report);
        assert(report.includes(`env:HOSTNAME=${name}`), report);
      } finally {
        await forceStop(name, `${dir}/lxc`);
      }
    });
  });

  Deno.test(`[${entry}] the template keeps lxc-create's network unless --net is given, and a failure leaves nothing`, async () => {
    await withTempDir(async (dir) => {
      const template = await install(entry, dir);
      await Deno.mkdir(`${dir}/lxc`);
      await Deno.writeTextFile(
        `${dir}/default.conf`,
        "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\n",
      );
      const create = (name: string, ...args: string[]) =>
        sh(["lxc-create", "-t", template, "-n", name, "-P", `${dir}/lxc`, "-f", `${dir}/default.conf`, "--", ...args]);
      const netLines = (name: string) =>
        Deno.readTextFileSync(`${dir}/lxc/${name}/config`).split("\n").filter((l) => l.startsWith("lxc.net."));

      assert.deepEqual((await create("theirs", BUSYBOX, "-q")).code, 0);
      assert.deepEqual(netLines("theirs"), [
        "lxc.net.0.type = veth",
        "lxc.net.0.link = lxcbr0",
        "lxc.net.0.flags = up",
      ]);

      assert.deepEqual((await create("ours", BUSYBOX, "-q", "--net", "none")).code, 0);
      assert.deepEqual(netLines("ours"), ["lxc.net.0.type = empty"]);

      const failed = await create("broken", `${dir}/no-such-image.tar`);
      assert(failed.code !== 0, failed.out);
      assert(failed.out.includes(`error: Cannot open image ${dir}/no-such-image.tar`), failed.out);
      const refused = await create("refused", BUSYBOX, "--force");
      assert(refused.code !== 0, refused.out);
      assert(refused.out.includes("Unknown option '--force'"), refused.out);
      // What a killed template run left (lxc-create's directory moved aside, owner PID 999999 gone) goes with the next
      // run for that name, as staging directories do.
      const stale = `${dir}/lxc/.again.oci2lxc-lxc-create-999999-1-0badcafe`;
      await Deno.mkdir(`${stale}/rootfs`, { recursive: true });
      await Deno.writeTextFile(`${stale}/config`, "lxc.uts.name = again\n");
      const again = await create("again", BUSYBOX); // not quiet: the removal is a warning
      assert.deepEqual(again.code, 0, again.out);
      assert(again.out.includes(`removed ${stale}, lxc-create's directory moved aside`), again.out);
      assert.deepEqual([...Deno.readDirSync(`${dir}/lxc`)].map((e) => e.name).sort(), ["again", "ours", "theirs"]);
      await Deno.remove(`${dir}/lxc/again`, { recursive: true });
      // A name lxc-create takes and convert does not: the hint names lxc-create's -n, not convert's --name or DEST.
      const named = await create("a b", BUSYBOX, "-q");
      assert(named.code !== 0, named.out);
      assert(named.out.includes('error: Cannot use container name "a b"'), named.out);
      assert(named.out.includes("hint: lxc-create takes names the oci2lxc template cannot use"), named.out);
      assert.deepEqual([...Deno.readDirSync(`${dir}/lxc`)].map((e) => e.name).sort(), ["ours", "theirs"]);
    });
  });

  Deno.test(`[${entry}] lxc-create -t oci2lxc -- IMAGE --unprivileged makes a container the mapped root can start`, async () => {
    await withTempDir(async (dir) => {
      const template = await install(entry, dir);
      // The mapped root must get through every parent of its container directory (the temp dir is 0700).
      await Deno.chmod(dir, 0o755);
      await Deno.mkdir(`${dir}/lxc`);
      await Deno.writeTextFile(`${dir}/default.conf`, "lxc.net.0.type = empty\n");
      const name = `o2l-tpu-${entry === "bundle" ? "b" : "m"}-${crypto.randomUUID().slice(0, 6)}`;
      const path = `${dir}/lxc/${name}`;
      const args = ["-n", name, "-P", `${dir}/lxc`, "-f", `${dir}/default.conf`, "--", BUSYBOX, "-q"];
      const created = await sh(["lxc-create", "-t", template, ...args, "--unprivileged"]);
      assert.deepEqual(created.code, 0, created.out);
      // As lxc-create does for an unprivileged container: the directory belongs to the mapped root, still 0770.
      const info = Deno.statSync(path);
      assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [100000, 100000, 0o770]);
      assert.deepEqual(Deno.statSync(`${path}/rootfs`).uid, 100000);
      try {
        const started = await sh(["lxc-start", "-n", name, "-P", `${dir}/lxc`, "-d", "-o", `${dir}/lxc.log`]);
        assert.deepEqual(started.code, 0, started.out);
        const report = await waitFor("the app's report", 15_000, () => {
          try {
            const text = Deno.readTextFileSync(`${path}/rootfs/data/report`);
            return text.includes("env:") ? text : undefined;
          } catch {
            return undefined;
          }
        });
        assert(report.includes("uid=1000"), report);
        assert.deepEqual(Deno.statSync(`${path}/rootfs/data/report`).uid, 101000);
      } finally {
        await forceStop(name, `${dir}/lxc`);
      }
    });
  });

  Deno.test(`[${entry}] install-lxc-template replaces its own file but not another one`, async () => {
    await withTempDir(async (dir) => {
      await install(entry, dir);
      await install(entry, dir);
      await Deno.writeTextFile(`${dir}/lxc-oci2lxc`, "#!/bin/sh\necho someone else's\n");
      const refused = await cli(entry, ["install-lxc-template", "--dir", dir]);
      assert.deepEqual(refused.code, 9, refused.stderr);
      assert(
        refused.stderr.startsWith(`error: Cannot write ${dir}/lxc-oci2lxc: it exists and oci2lxc did not write it`),
      );
      assert.deepEqual((await cli(entry, ["install-lxc-template", "--dir", dir, "--force"])).code, 0);
      // A symlink in its place is replaced, not written through: with --force it used to overwrite (and chmod 0755)
      // whatever it pointed to.
      await Deno.writeTextFile(`${dir}/victim`, "secret\n", { mode: 0o600 });
      await Deno.remove(`${dir}/lxc-oci2lxc`);
      await Deno.symlink(`${dir}/victim`, `${dir}/lxc-oci2lxc`);
      assert.deepEqual((await cli(entry, ["install-lxc-template", "--dir", dir, "--force"])).code, 0);
      assert.deepEqual(await Deno.readTextFile(`${dir}/victim`), "secret\n");
      assert.deepEqual((await Deno.stat(`${dir}/victim`)).mode! & 0o777, 0o600);
      assert((await Deno.lstat(`${dir}/lxc-oci2lxc`)).isFile);
    });
  });
}
