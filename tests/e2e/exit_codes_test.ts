/**
 * One real failure of each error class through the real CLI (source and bundle) ends with that class's exit code
 * (README "Exit codes"), so a script can tell a damaged image from a full disk or a registry that is down. Interrupted
 * (130) is asserted where the signals are sent: interrupt_test.ts, registry_pull_test.ts.
 */
import assert from "node:assert/strict";
import { type ErrorCode, EXIT_CODES } from "../../mod.ts";
import { flipByte, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { cli, type CliResult, ENTRIES } from "./_cli.ts";

const BUSYBOX = "fixtures/images/busybox.oci.tar";
const MULTIARCH = "fixtures/images/busybox.multiarch.oci.tar";

function sh(command: string): Promise<Deno.CommandOutput> {
  return new Deno.Command("sh", { args: ["-c", command], stdout: "null", stderr: "piped" }).output();
}

/**
 * Assert the exit code as a script would spell it, a number (which is also `EXIT_CODES[name]`), and that the error
 * line is ours (`error: Cannot …`, no trace, not the "report it" of an unexpected error).
 */
function assertExit(r: CliResult, code: number, name: ErrorCode, error: RegExp): void {
  assert.deepEqual(EXIT_CODES[name], code, `EXIT_CODES.${name}`);
  assert.deepEqual(r.code, code, r.stderr);
  assert(error.test(r.stderr.split("\n")[0]!), r.stderr);
  assert(!/Uncaught|Stack backtrace|report it/.test(r.stderr), r.stderr);
}

/** A port on 127.0.0.1 that nothing listens on: bound by us for a moment, then closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] usage: a missing DEST exits 2`, async () => {
    const r = await cli(entry, ["convert", BUSYBOX]);
    assertExit(r, 2, "usage", /^error: Cannot run convert: DEST is missing/);
  });

  Deno.test(`[${entry}] image: a truncated archive exits 3`, async () => {
    await withTempDir(async (dir) => {
      const bytes = Deno.readFileSync(BUSYBOX);
      Deno.writeFileSync(`${dir}/cut.tar`, bytes.subarray(0, bytes.length >> 1));
      const r = await cli(entry, ["convert", `oci-archive:${dir}/cut.tar`, `${dir}/ct`, "-q"]);
      assertExit(r, 3, "image", /^error: Cannot read \S+cut\.tar: the archive is truncated/);
    });
  });

  Deno.test(`[${entry}] digest: a flipped byte in a layer blob exits 4, from convert and from verify`, async () => {
    await withTempDir(async (dir) => {
      // Uncompressed, and the byte in a file's content: the tar stays valid, only the digest tells.
      const tar = layerTar([file("bin/app", "x".repeat(4096), { mode: 0o755 })]);
      const image = await writeOciDir(`${dir}/img`, [{ tar, compression: "none" }], { Cmd: ["/bin/app"] });
      await flipByte(image.layerPaths[0]!, 3 * 512 + 100);
      const r = await cli(entry, ["convert", `oci:${dir}/img`, `${dir}/ct`, "-q"]);
      assertExit(r, 4, "digest", /^error: Cannot verify layer 1\/1 /);
      const v = await cli(entry, ["verify", `oci:${dir}/img`]);
      assertExit(v, 4, "digest", /^error: Cannot verify layer 1\/1 /);
      const json = await cli(entry, ["verify", `oci:${dir}/img`, "--json"]);
      assert.deepEqual(json.code, 4, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout).problems.map((p: { code: string }) => p.code), ["digest"]);
    });
  });

  Deno.test(`[${entry}] platform: a --platform the index lacks exits 5`, async () => {
    const r = await cli(entry, ["inspect", MULTIARCH, "--platform", "linux/s390x"]);
    assertExit(r, 5, "platform", /^error: Cannot find an image for linux\/s390x in /);
  });

  Deno.test(`[${entry}] rootfs: a layer with a path longer than PATH_MAX exits 6`, async () => {
    await withTempDir(async (dir) => {
      const tar = layerTar([file(`${"d/".repeat(2100)}f`, "x")]);
      await writeOciDir(`${dir}/img`, [{ tar, compression: "none" }], { Cmd: ["/f"] });
      const r = await cli(entry, ["convert", `oci:${dir}/img`, `${dir}/ct`, "-q"]);
      assertExit(r, 6, "rootfs", /^error: Cannot apply d\/d\/.* from layer 1\/1 .*4095/);
    });
  });

  Deno.test(`[${entry}] config: an image with no command and no init exits 7`, async () => {
    await withTempDir(async (dir) => {
      await writeOciDir(`${dir}/img`, [{ tar: layerTar([file("etc/hostname", "x\n")]), compression: "none" }]);
      const r = await cli(entry, ["convert", `oci:${dir}/img`, `${dir}/ct`, "-q"]);
      assertExit(r, 7, "config", /^error: Cannot plan the container: the image config has no Entrypoint or Cmd/);
    });
  });

  Deno.test(`[${entry}] plugin: a hook that throws exits 8, whatever it threw`, async () => {
    await withTempDir(async (dir) => {
      Deno.writeTextFileSync(
        `${dir}/boom.ts`,
        'export default { name: "boom", rootfs() { throw new RangeError("the plugin gave up"); } };\n',
      );
      const r = await cli(entry, ["convert", BUSYBOX, `${dir}/ct`, "-q", "--plugin", `${dir}/boom.ts`]);
      assertExit(r, 8, "plugin", /^error: Cannot run plugin "boom" \(rootfs hook\): the plugin gave up$/);
    });
  });

  Deno.test(`[${entry}] destination: an existing DEST without --force exits 9`, async () => {
    await withTempDir(async (dir) => {
      Deno.mkdirSync(`${dir}/ct`);
      const r = await cli(entry, ["convert", BUSYBOX, `${dir}/ct`, "-q"]);
      assertExit(r, 9, "destination", /^error: Cannot write \S+\/ct: it already exists$/);
    });
  });

  Deno.test(`[${entry}] registry: docker:// to a port nothing listens on exits 10`, async () => {
    await withTempDir(async (dir) => {
      const ref = `docker://127.0.0.1:${closedPort()}/busybox:1`;
      const r = await cli(entry, ["convert", ref, `${dir}/ct`, "-q", "--no-cache", "--tls-verify=false"]);
      assertExit(r, 10, "registry", /^error: Cannot .*: the connection to 127\.0\.0\.1:\d+ was refused$/);
      assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing at DEST");
    });
  });
}

Deno.test("destination: a disk that fills while a layer is applied exits 9, not as a broken layer (6)", async () => {
  await withTempDir(async (dir) => {
    // 512 KiB for a rootfs of about 1 MiB: the layer is fine, the disk is not.
    Deno.mkdirSync(`${dir}/small`);
    const mounted = await sh(`mount -t tmpfs -o size=512k oci2lxc-test '${dir}/small'`);
    assert(mounted.success, new TextDecoder().decode(mounted.stderr));
    try {
      const r = await cli("main.ts", ["convert", BUSYBOX, `${dir}/small/ct`, "-q"]);
      assertExit(r, 9, "destination", /^error: Cannot apply \S+ from layer 1\/1 .*ENOSPC/);
      assert(r.stderr.includes(`hint: Free space on the filesystem that holds ${dir}/small,`), r.stderr);
      assert.deepEqual([...Deno.readDirSync(`${dir}/small`)], [], "no staging directory or DEST left");
    } finally {
      await sh(`umount '${dir}/small'`);
    }
  });
});
