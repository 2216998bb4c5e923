/**
 * The output format is a writer chosen at the end: every hook runs for `--format pve` as for plain LXC, a plugin's
 * config line reaches the Proxmox VE conf as a raw `lxc.*` key or fails naming the plugin, and files beside the
 * rootfs are written for LXC and refused for Proxmox VE, naming the plugin.
 */
import assert from "node:assert/strict";
import { builtinPlugins, type ConversionContext, convert, Oci2LxcError } from "../../mod.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

const IMAGE = `oci-archive:${FIXTURES}busybox.oci.tar`;

function configLine(name: string, key: string, value: string): Plugin<ConversionContext> {
  return definePlugin<ConversionContext>({
    name,
    config(context) {
      context.config.comment(`from ${name}`);
      context.config.add(key, value);
    },
  });
}

const pve = (extra: Plugin<ConversionContext>[], pveVersion = "8") => ({
  format: "pve" as const,
  vmid: 120,
  pveVersion,
  name: "busybox",
  plugins: [...builtinPlugins(), ...extra],
});

systemTest("with --format pve a plugin's config hook runs and its line reaches the conf as a raw lxc key", async () => {
  await withTempDir(async (dir) => {
    const report = await convert(IMAGE, `${dir}/out`, pve([configLine("limits", "lxc.cgroup2.memory.max", "256M")]));
    const conf = Deno.readTextFileSync(`${dir}/out/120.conf`);
    assert(conf.includes("\nlxc.cgroup2.memory.max: 256M\n"), conf);
    assert(conf.includes("#from limits\n"), conf);
    assert.deepEqual(report.plugins.find((p) => p.name === "limits"), { name: "limits", hooks: ["config"] });
    assert.deepEqual(report.paths.config, `${dir}/out/120.conf`);
  });
});

systemTest(
  "with --format pve a config line Proxmox VE would drop fails naming the plugin, and nothing is written",
  async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(
        () => convert(IMAGE, `${dir}/out`, pve([configLine("host-hook", "lxc.hook.start-host", "/bin/true")])),
        (err) => {
          assert(err instanceof Oci2LxcError);
          assert.equal(err.code, "plugin");
          assert(
            err.message.startsWith(
              'Cannot run plugin "host-hook" (config hook): Cannot add lxc.hook.start-host to the Proxmox VE conf: ',
            ),
            err.message,
          );
          return true;
        },
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [], "no template, no conf, no staging directory");
    });
  },
);

systemTest(
  "with --format pve a key Proxmox VE takes only from 9.1 fails for 8 and reaches the conf for 9.1",
  async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(
        () => convert(IMAGE, `${dir}/out`, pve([configLine("env-hooks", "lxc.environment.hooks", "A=b")], "8")),
        (err) =>
          err instanceof Oci2LxcError &&
          err.message.includes("pve-container takes it from 6.0.15 on; this conf is for 5.0.0 (Proxmox VE 8)"),
      );
      await convert(IMAGE, `${dir}/out`, pve([configLine("env-hooks", "lxc.environment.hooks", "A=b")], "9.1"));
      assert(Deno.readTextFileSync(`${dir}/out/120.conf`).includes("\nlxc.environment.hooks: A=b\n"));
    });
  },
);

const besideFile = definePlugin<ConversionContext>({
  name: "beside",
  rootfs(context) {
    context.files.set("extra/note.txt", { data: "hello\n", mode: 0o600 });
  },
});

systemTest("with --format pve a file beside the rootfs is refused naming the plugin", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      () => convert(IMAGE, `${dir}/out`, pve([besideFile])),
      (err) =>
        err instanceof Oci2LxcError &&
        err.message.includes(
          'Cannot run plugin "beside" (rootfs hook): Cannot write extra/note.txt beside the rootfs with --format pve',
        ),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});

systemTest(
  "for plain LXC the same plugins' file is written beside the rootfs and their line is in the config",
  async () => {
    await withTempDir(async (dir) => {
      await convert(IMAGE, `${dir}/ct`, {
        plugins: [...builtinPlugins(), besideFile, configLine("limits", "lxc.cgroup2.memory.max", "256M")],
      });
      assert.deepEqual(Deno.readTextFileSync(`${dir}/ct/extra/note.txt`), "hello\n");
      assert.deepEqual(Deno.statSync(`${dir}/ct/extra/note.txt`).mode! & 0o777, 0o600);
      const config = Deno.readTextFileSync(`${dir}/ct/config`);
      assert(config.includes("\n# Added by plugins\n"), config);
      assert(config.endsWith("\n# from limits\nlxc.cgroup2.memory.max = 256M\n"), config);
    });
  },
);

systemTest(
  "a file name beside the rootfs that is the container's own fails in the hook, naming the plugin",
  async () => {
    await withTempDir(async (dir) => {
      const bad = definePlugin<ConversionContext>({
        name: "clobber",
        rootfs(context) {
          context.files.set("config", { data: "", mode: 0o644 });
        },
      });
      await assert.rejects(
        () => convert(IMAGE, `${dir}/ct`, { plugins: [...builtinPlugins(), bad] }),
        (err) =>
          err instanceof Oci2LxcError &&
          err.message.includes('Cannot run plugin "clobber" (rootfs hook): Cannot write config beside the rootfs'),
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
    });
  },
);
