/**
 * The two ways a user adds the motd example plugin: a custom main with it
 * built in (run from its bundle, as a compiled binary would run it), and
 * `--plugin FILE` with the stock main.ts.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUSYBOX = "fixtures/images/busybox.oci.tar";
const MOTD_PLUGIN = "examples/motd_plugin/motd_plugin.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function deno(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Bundle examples/custom_main/main.ts into `dir` and return the bundle's path. */
async function bundleCustomMain(dir: string): Promise<string> {
  const out = `${dir}/custom.js`;
  const r = await deno(["bundle", "--platform", "deno", "-o", out, "examples/custom_main/main.ts"]);
  assert.deepEqual(r.code, 0, r.stderr);
  return out;
}

systemTest("the custom main's bundle lists motd as a custom plugin and writes /etc/motd on convert", async () => {
  await withTempDir(async (dir) => {
    const custom = await bundleCustomMain(dir);
    const listed = await deno(["run", "-A", "--quiet", custom, "plugins", "--json"]);
    assert.deepEqual(listed.code, 0, listed.stderr);
    const plugins: Array<Record<string, unknown>> = JSON.parse(listed.stdout);
    assert.deepEqual(plugins.at(-1), {
      name: "motd",
      origin: "custom",
      order: "post",
      conditional: false,
      hooks: ["rootfs (sequential)", "report (parallel)"],
      options: { path: "/etc/motd", systemOnly: false, append: true },
    });
    assert(plugins.some((p) => p.name === "hosts-files" && p.origin === "built-in"));

    const r = await deno(["run", "-A", "--quiet", custom, "convert", BUSYBOX, `${dir}/ct`, "--quiet"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const motd = await Deno.readTextFile(`${dir}/ct/rootfs/etc/motd`);
    assert(motd.startsWith(`ct: made by oci2lxc from an OCI image\n  image      ${BUSYBOX}\n`), motd);
    assert(motd.includes("config     sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9\n"));
    assert(r.stderr.startsWith(`motd: wrote ${dir}/ct/rootfs/etc/motd (`), r.stderr);
  });
});

systemTest("main.ts convert --plugin loads the motd plugin's default export", async () => {
  await withTempDir(async (dir) => {
    const r = await deno(["run", "-A", "--quiet", "main.ts", "convert", BUSYBOX, `${dir}/ct`, "--plugin", MOTD_PLUGIN]);
    assert.deepEqual(r.code, 0, r.stderr);
    assert((await Deno.readTextFile(`${dir}/ct/rootfs/etc/motd`)).startsWith("ct: made by oci2lxc"));
    const listed = await deno(["run", "-A", "--quiet", "main.ts", "plugins", "--plugin", MOTD_PLUGIN, "--json"]);
    assert.deepEqual(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).at(-1).origin, "--plugin");
  });
});

systemTest("the custom main refuses --plugin of the plugin it already has built in", async () => {
  await withTempDir(async (dir) => {
    const r = await deno([
      "run",
      "-A",
      "--quiet",
      "examples/custom_main/main.ts",
      "convert",
      BUSYBOX,
      `${dir}/ct`,
      "--plugin",
      MOTD_PLUGIN,
    ]);
    assert.deepEqual([r.code, r.stderr.split("\n")[0]], [8, 'error: Cannot use plugin "motd" twice']);
    assert.deepEqual(await Deno.lstat(`${dir}/ct`).catch(() => undefined), undefined);
  });
});
