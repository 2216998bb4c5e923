import assert from "node:assert/strict";
import { builtinPlugins, type ConversionContext, convert, Oci2LxcError } from "../../mod.ts";
import { motd, printable, renderMotd } from "../../examples/motd_plugin/motd_plugin.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { pluginHarness } from "../_helpers/plugin_context.ts";
import { systemTest } from "../_helpers/tier.ts";

const BUSYBOX = `${FIXTURES}busybox.oci.tar`;
const BUSYBOX_CONFIG = "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9";

/** The harness context, with the image identity the harness leaves out. */
function withImage(context: ConversionContext, reference: string): ConversionContext {
  const image = { ...context.image, reference, config: { ...context.image.config, digest: "sha256:abc" } };
  return { ...context, image };
}

Deno.test("renderMotd() lists the image, config, platform and date, with control characters replaced", () => {
  const text = renderMotd({
    name: "web",
    reference: "oci:./x\x1b[2J:latest",
    configDigest: "sha256:abc",
    platform: "linux/arm64/v8",
    date: "2024-05-01",
  });
  assert.deepEqual(
    text,
    "web: made by oci2lxc from an OCI image\n" +
      "  image      oci:./x?[2J:latest\n" +
      "  config     sha256:abc\n" +
      "  platform   linux/arm64/v8\n" +
      "  converted  2024-05-01\n",
  );
  assert.deepEqual(printable("a\tb\u009bc\u007fdé"), "a?b?c?dé");
});

Deno.test("motd() refuses a relative path and a date that is not YYYY-MM-DD", () => {
  assert.throws(
    () => motd({ path: "etc/motd" }),
    (err) =>
      err instanceof Oci2LxcError && err.message.includes('Cannot use plugin "motd": path "etc/motd" is not absolute'),
  );
  assert.throws(
    () => motd({ date: "1 May 2024" }),
    (err) => err instanceof Oci2LxcError && err.message.includes('date "1 May 2024" is not YYYY-MM-DD'),
  );
});

Deno.test("motd rootfs hook appends to the image's motd and the report hook logs it", async () => {
  const h = pluginHarness({ "/etc/motd": "Welcome to the image" });
  try {
    const logged: string[] = [];
    const plugin = motd({ date: "2024-05-01", log: (line) => logged.push(line) });
    const context = withImage(h.context, "oci-archive:app.tar");
    await plugin.rootfs!(context);
    assert.deepEqual(
      Deno.readTextFileSync(`${h.dir}/rootfs/etc/motd`),
      "Welcome to the image\n\n" + renderMotd({
        name: "ct",
        reference: "oci-archive:app.tar",
        configDigest: "sha256:abc",
        platform: "linux/amd64",
        date: "2024-05-01",
      }),
    );
    await plugin.report!(context);
    const size = Deno.statSync(`${h.dir}/rootfs/etc/motd`).size;
    assert.deepEqual(logged, [
      `motd: wrote /var/lib/lxc/ct/rootfs/etc/motd (${size} bytes, after the image's own message)`,
    ]);
  } finally {
    h.cleanup();
  }
});

Deno.test("motd rootfs hook replaces a symlink that points out of the rootfs instead of writing through it", async () => {
  const h = pluginHarness({ "/etc/issue": "" });
  const outside = Deno.makeTempFileSync({ prefix: "oci2lxc-motd-outside-" });
  try {
    Deno.writeTextFileSync(outside, "host file\n");
    Deno.symlinkSync(outside, `${h.dir}/rootfs/etc/motd`);
    await motd({ date: "2024-05-01", log: false }).rootfs!(withImage(h.context, "x.tar"));
    assert.deepEqual(Deno.readTextFileSync(outside), "host file\n");
    assert(Deno.lstatSync(`${h.dir}/rootfs/etc/motd`).isFile);
    // The link's target did not exist inside the rootfs, so there was nothing to keep.
    assert(Deno.readTextFileSync(`${h.dir}/rootfs/etc/motd`).startsWith("ct: made by oci2lxc"));
  } finally {
    Deno.removeSync(outside);
    h.cleanup();
  }
});

Deno.test("motd with systemOnly applies to a system container and not to an app container", () => {
  const app = pluginHarness({}, { config: { Cmd: ["/bin/sh"] } });
  const system = pluginHarness({}, { config: { Cmd: ["/sbin/init"] } });
  try {
    const plugin = motd({ systemOnly: true });
    assert.deepEqual([plugin.apply!(app.context), plugin.apply!(system.context)], [false, true]);
    assert.deepEqual(motd().apply, undefined);
  } finally {
    app.cleanup();
    system.cleanup();
  }
});

systemTest("convert() with motd writes /etc/motd into the committed rootfs and logs once", async () => {
  await withTempDir(async (dir) => {
    const logged: string[] = [];
    const report = await convert(`oci-archive:${BUSYBOX}`, `${dir}/web`, {
      platform: "linux/amd64",
      lxcVersion: "5.0.2",
      plugins: [...builtinPlugins(), motd({ date: "2024-05-01", log: (line) => logged.push(line) })],
    });
    const expected = renderMotd({
      name: "web",
      reference: `oci-archive:${BUSYBOX}`,
      configDigest: BUSYBOX_CONFIG,
      platform: "linux/amd64",
      date: "2024-05-01",
    });
    assert.deepEqual(await Deno.readTextFile(`${dir}/web/rootfs/etc/motd`), expected);
    assert.deepEqual((await Deno.stat(`${dir}/web/rootfs/etc/motd`)).mode! & 0o7777, 0o644);
    assert.deepEqual(report.plugins.find((p) => p.name === "motd"), { name: "motd", hooks: ["rootfs"] });
    assert.deepEqual(logged, [
      `motd: wrote ${dir}/web/rootfs/etc/motd (${new TextEncoder().encode(expected).length} bytes)`,
    ]);
  });
});

systemTest("convert() with motd systemOnly skips an app container and writes for an init", async () => {
  await withTempDir(async (dir) => {
    const logged: string[] = [];
    const plugins = () => [
      ...builtinPlugins(),
      motd({
        systemOnly: true,
        date: "2024-05-01",
        log: (l) => logged.push(l),
      }),
    ];
    await convert(`oci-archive:${BUSYBOX}`, `${dir}/app`, {
      platform: "linux/amd64",
      lxcVersion: "5.0.2",
      plugins: plugins(),
    });
    assert.deepEqual(await Deno.lstat(`${dir}/app/rootfs/etc/motd`).catch(() => undefined), undefined);
    assert.deepEqual(logged, []);
    const report = await convert(`oci-archive:${BUSYBOX}`, `${dir}/sys`, {
      platform: "linux/amd64",
      lxcVersion: "5.0.2",
      entrypoint: ["/sbin/init"],
      user: "root",
      plugins: plugins(),
    });
    assert.deepEqual(report.container.kind, "system");
    assert((await Deno.readTextFile(`${dir}/sys/rootfs/etc/motd`)).startsWith("sys: made by oci2lxc"));
    assert.deepEqual(logged.length, 1);
  });
});

systemTest("convert() --dry-run with motd says it would write and leaves DEST absent", async () => {
  await withTempDir(async (dir) => {
    const logged: string[] = [];
    await convert(`oci-archive:${BUSYBOX}`, `${dir}/ct`, {
      platform: "linux/amd64",
      lxcVersion: "5.0.2",
      dryRun: true,
      plugins: [...builtinPlugins(), motd({ date: "2024-05-01", log: (l) => logged.push(l) })],
    });
    assert.deepEqual(await Deno.lstat(`${dir}/ct`).catch(() => undefined), undefined);
    assert(logged[0]?.startsWith(`motd: would write ${dir}/ct/rootfs/etc/motd (`), logged[0]);
  });
});
