/**
 * Conversion failures and options that shape the rootfs, through the real
 * CLI: idmap shifting, owners outside the map, a damaged last layer, DEST
 * protection. Whatever fails leaves neither DEST nor a staging directory.
 */
import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { aclTextToXattr } from "../../core/rootfs/posix_acl.ts";
import { WORKER_MIN_BYTES } from "../../core/assemble.ts";
import { flipByte, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { cli, ENTRIES } from "./_cli.ts";

function leftovers(parent: string): string[] {
  return [...Deno.readDirSync(parent)].map((e) => e.name).filter((n) => n.includes("oci2lxc-staging") || n === "ct");
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for (const e of Deno.readDirSync(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("--idmap shifts every owner by the map and changes nothing else", async () => {
  await withTempDir(async (dir) => {
    const plain = await cli("main.ts", ["convert", "fixtures/images/busybox.oci.tar", `${dir}/plain`, "--quiet"]);
    assert.deepEqual(plain.code, 0, plain.stderr);
    const shifted = await cli("main.ts", [
      "convert",
      "fixtures/images/busybox.oci.tar",
      `${dir}/shifted`,
      "--quiet",
      "--idmap",
      "u:0:200000:65536,g:0:300000:65536",
    ]);
    assert.deepEqual(shifted.code, 0, shifted.stderr);
    const expected = fsManifest(`${dir}/plain/rootfs`).split("\n").map((line) =>
      // path type mode uid gid …: names are escaped, so the first three fields hold no spaces.
      line.replace(
        /^(\S+ \S+ \S+) (\d+) (\d+)/,
        (_, head, u, g) => `${head} ${Number(u) + 200000} ${Number(g) + 300000}`,
      )
    );
    assert.deepEqual(fsManifest(`${dir}/shifted/rootfs`).split("\n"), expected);
    const config = Deno.readTextFileSync(`${dir}/shifted/config`);
    assert(config.includes("lxc.idmap = u 0 200000 65536"), config);
    assert(config.includes("lxc.idmap = g 0 300000 65536"), config);
  });
});

Deno.test("an owner outside the idmap fails, naming the entry and a wider map, and leaves nothing", async () => {
  await withTempDir(async (dir) => {
    // hardcases has files owned by uid 100000, outside the default unprivileged range 0-65535.
    const r = await cli("main.ts", ["convert", "fixtures/images/hardcases.oci.tar", `${dir}/ct`, "--unprivileged"]);
    assert.deepEqual(r.code, 6, r.stderr);
    assert(/^error: Cannot map owner of \S*hc\S* in layer \d\/\d/m.test(r.stderr), r.stderr);
    assert(r.stderr.includes("uid 100000 is outside the idmap"), r.stderr);
    assert(r.stderr.includes("hint: Use a wider --idmap"), r.stderr);
    assert.deepEqual(leftovers(dir), []);
  });
});

Deno.test("a damaged last layer leaves no DEST and no staging directory", async () => {
  await withTempDir(async (dir) => {
    await copyDir("fixtures/images/hardcases.oci-dir", `${dir}/img`);
    const manifest = JSON.parse(
      Deno.readTextFileSync(
        `${dir}/img/blobs/sha256/${
          JSON.parse(Deno.readTextFileSync(`${dir}/img/index.json`)).manifests[0].digest.slice(7)
        }`,
      ),
    );
    const last = manifest.layers.at(-1).digest.slice(7);
    await flipByte(`${dir}/img/blobs/sha256/${last}`, -20);
    const r = await cli("main.ts", ["convert", `oci:${dir}/img`, `${dir}/ct`]);
    assert.deepEqual(r.code, 4, r.stderr);
    assert(r.stderr.includes(`Cannot verify layer ${manifest.layers.length}/${manifest.layers.length}`), r.stderr);
    assert.deepEqual(leftovers(dir), []);
  });
});

Deno.test("an existing DEST is refused without --force and replaced, complete, with it", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/ct`);
    Deno.writeTextFileSync(`${dir}/ct/keep`, "old");
    Deno.writeTextFileSync(`${dir}/ct/config`, "lxc.uts.name = ct\n"); // looks like a container: --force may replace it
    const refused = await cli("main.ts", ["convert", "fixtures/images/busybox.oci.tar", `${dir}/ct`, "--quiet"]);
    assert.deepEqual(refused.code, 9, refused.stderr);
    assert(refused.stderr.startsWith(`error: Cannot write ${dir}/ct: it already exists`), refused.stderr);
    assert.deepEqual(Deno.readTextFileSync(`${dir}/ct/keep`), "old");
    const forced = await cli("main.ts", [
      "convert",
      "fixtures/images/busybox.oci.tar",
      `${dir}/ct`,
      "--quiet",
      "--force",
    ]);
    assert.deepEqual(forced.code, 0, forced.stderr);
    assert(Deno.statSync(`${dir}/ct/rootfs/bin/busybox`).isFile);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["ct"]);
  });
});

Deno.test("the Proxmox fixtures convert with the outcomes Proxmox's own tests expect", async () => {
  await withTempDir(async (dir) => {
    const convert = async (name: string) => {
      const dest = `${dir}/${name}`;
      const r = await cli("main.ts", [
        "convert",
        `fixtures/proxmox-oci/oci_test_${name}.tar`,
        dest,
        "--quiet",
        "--cmd",
        "/x",
      ]);
      assert.deepEqual(r.code, 0, `${name}: ${r.stderr}`);
      return `${dest}/rootfs`;
    };
    const exists = (p: string) => {
      try {
        Deno.lstatSync(p);
        return true;
      } catch {
        return false;
      }
    };
    assert(exists(await convert("whiteout_root_breakout")));
    assert(exists(await convert("whiteout_root_parent_breakout")));
    assert(!exists(`${await convert("whiteout_current_directory")}/etc`));
    const symlink = await convert("whiteout_symlink");
    assert(exists(`${symlink}/etc/passwd`) && !exists(`${symlink}/localetc`));
    assert(exists(`${await convert("whiteout_dead_symlink_parent")}/etc/passwd`));
    assert.deepEqual(Deno.readTextFileSync(`${await convert("replace_file")}/etc/a`), "2");
    assert(Deno.lstatSync(`${await convert("replace_file_with_dir")}/etc/a`).isDirectory);
    assert(Deno.lstatSync(`${await convert("replace_dir_with_file")}/etc/a`).isFile);
  });
});

Deno.test("an image above the worker threshold is read in the layer worker from main.ts and from the bundle, silently", async () => {
  await withTempDir(async (dir) => {
    // Incompressible content, so the layers' compressed size passes WORKER_MIN_BYTES.
    const random = new Uint8Array(WORKER_MIN_BYTES + (1 << 20));
    for (let at = 0; at < random.length; at += 65536) crypto.getRandomValues(random.subarray(at, at + 65536));
    await writeOciDir(`${dir}/img`, [
      { tar: layerTar([file("data/random.bin", random), file("etc/hostname", "x\n")]), compression: "gzip" },
      { tar: layerTar([file("data/more.bin", random.subarray(0, 1 << 20))]), compression: "zstd" },
    ], { Cmd: ["/bin/true"] });
    const manifests: string[] = [];
    for (const entry of ENTRIES) {
      const r = await cli(entry, ["convert", `oci:${dir}/img`, `${dir}/${entry}`, "--quiet", "--json"]);
      assert.deepEqual([r.code, r.stderr.replace(/^warning: .*\n/gm, "")], [0, ""], entry);
      assert.deepEqual(JSON.parse(r.stdout).layerReader, "worker", entry);
      manifests.push(fsManifest(`${dir}/${entry}/rootfs`));
    }
    assert.deepEqual(manifests[0], manifests[1]);
    assert.deepEqual(Deno.readFileSync(`${dir}/main.ts/rootfs/data/random.bin`), random);
    const small = await cli("main.ts", ["convert", "fixtures/images/busybox.oci.tar", `${dir}/small`, "--json"]);
    assert.deepEqual(JSON.parse(small.stdout).layerReader, "thread", "a small image is read on the main thread");
  });
});

Deno.test("--dry-run writes nothing near DEST: a missing parent stays missing", async () => {
  await withTempDir(async (dir) => {
    const dest = `${dir}/not/yet/ct`;
    const r = await cli("main.ts", ["convert", "fixtures/images/busybox.oci.tar", dest, "--dry-run", "--json"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual([report.dryRun, report.paths.rootfs], [true, `${dest}/rootfs`]);
    assert(report.rootfs.files > 0, "the plan was made from an assembled rootfs");
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a layer's warnings name the layer once and the entry they are about", async () => {
  await withTempDir(async (dir) => {
    // Layer 1: a default ACL on a file, which the rootfs writer skips; layer 2: data after the end-of-archive marker,
    // which the tar parser ignores. The first lost its layer and entry, the second had its layer twice.
    const hostname = file("etc/hostname", "x\n", {
      xattrs: { "system.posix_acl_default": aclValue("user::rwx,group::r-x,other::---") },
    });
    const junk = new Uint8Array(512).fill(0x41);
    await writeOciDir(`${dir}/img`, [
      { tar: layerTar([hostname]), compression: "none" },
      { tar: new Uint8Array([...layerTar([file("srv/x", "x\n")]), ...junk]), compression: "none" },
    ], { Cmd: ["/bin/true"] });
    const r = await cli("main.ts", ["convert", `oci:${dir}/img`, `${dir}/ct`, "--quiet", "--json"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const warnings = (JSON.parse(r.stdout).warnings as string[]).map((w) => w.replace(/sha256:[0-9a-f]{12}/, "ID"));
    assert(
      warnings.includes(
        "layer 1/2 (ID): etc/hostname: xattr system.posix_acl_default skipped: a default ACL applies to directories only",
      ),
      warnings.join("\n"),
    );
    assert(
      warnings.some((w) => /^layer 2\/2 \(ID\): ignoring data after the end-of-archive marker, from byte \d+$/.test(w)),
      warnings.join("\n"),
    );
  });
});

function aclValue(text: string): Uint8Array {
  const value = aclTextToXattr(text);
  if (typeof value === "string") throw new Error(value);
  return value;
}
