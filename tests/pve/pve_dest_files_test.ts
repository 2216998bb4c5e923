/**
 * `--format pve` writes into the directory DEST, which may hold the user's files: a file of the output that is already
 * there is refused before any work (also for a dry run) unless `--force`, and one that appears while the conversion
 * runs is not replaced either. Through the library (`convert`, as the CLI calls it) and the writer; runs as a normal
 * user (`allowApproximate`).
 */
import assert from "node:assert/strict";
import { convert } from "../../mod.ts";
import type { ConvertOptions } from "../../core/conversion.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { pveDestFiles } from "../../core/output/pve_dest_files.ts";
import { makePlan } from "../../core/plan/make_plan.ts";
import { directoryRootfsReader } from "../../core/plan/rootfs_reader.ts";
import { renderPveConfig } from "../../core/pve/pve_conf.ts";
import { writePveOutput } from "../../core/pve/pve_output.ts";
import { parsePveTarget } from "../../core/pve/pve_target.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { assertUntouched, userFile } from "./_user_files.ts";

const IMAGE = `oci-archive:${FIXTURES}busybox.oci.tar`;
const PVE: ConvertOptions = { format: "pve", vmid: 120, name: "web", allowApproximate: true, pveVersion: "8" };

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function refused(dest: string, options: ConvertOptions): Promise<Oci2LxcError> {
  const err = await convert(IMAGE, dest, options).then(
    () => assert.fail("the conversion was not refused"),
    (e: unknown) => e,
  );
  assert(err instanceof Oci2LxcError, String(err));
  assert.equal(err.code, "destination");
  assert.equal(err.exitCode, 9);
  return err;
}

for (const dryRun of [false, true]) {
  const run = dryRun ? "a dry run" : "a conversion";
  Deno.test(`--format pve: ${run} refuses an existing VMID.conf before any work and leaves DEST as it was`, async () => {
    await withTempDir(async (dir) => {
      const out = `${dir}/out`;
      Deno.mkdirSync(out);
      userFile(`${out}/120.conf`, "# my own edits\n");
      const err = await refused(out, { ...PVE, dryRun });
      assert.equal(err.message, `Cannot write ${out}/120.conf: it already exists`);
      assert.equal(err.hint, "Pass --force to replace it, or another --vmid, or another DEST");
      assertUntouched(`${out}/120.conf`, "# my own edits\n");
      assert.deepEqual(names(out), ["120.conf"], "no template, no partial file, no record");
      assert.deepEqual(names(dir), ["out"], "no staging directory or lock beside DEST");
    });
  });

  Deno.test(`--format pve: ${run} refuses an existing NAME.tar.zst before any work and leaves it as it was`, async () => {
    await withTempDir(async (dir) => {
      const out = `${dir}/out`;
      Deno.mkdirSync(out);
      userFile(`${out}/web.tar.zst`, "another image's template\n");
      const err = await refused(out, { ...PVE, dryRun });
      assert.equal(err.message, `Cannot write ${out}/web.tar.zst: it already exists`);
      assert.equal(err.hint, "Pass --force to replace it, or another --name, or another DEST");
      assertUntouched(`${out}/web.tar.zst`, "another image's template\n");
      assert.deepEqual(names(out), ["web.tar.zst"]);
      assert.deepEqual(names(dir), ["out"]);
    });
  });
}

Deno.test("--format pve: the same conversion again is refused, naming all its files; --force replaces them", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out`;
    const first = await convert(IMAGE, out, PVE);
    assert.equal(first.pve?.include, `${out}/120.oci2lxc.conf`, "busybox sets a user: version 8 needs the include");
    const files = ["120.conf", "120.oci2lxc.conf", "120.oci2lxc.json", "web.tar.zst"];
    assert.deepEqual(names(out), files);
    for (const name of files) userFile(`${out}/${name}`, `mine: ${name}\n`);

    const err = await refused(out, PVE);
    assert.equal(
      err.message,
      `Cannot write ${out}/web.tar.zst: it already exists (and 3 more of the files this conversion writes: 120.conf, ` +
        "120.oci2lxc.conf, 120.oci2lxc.json)",
    );
    assert.equal(err.hint, "Pass --force to replace them, or another --name and --vmid, or another DEST");
    for (const name of files) assertUntouched(`${out}/${name}`, `mine: ${name}\n`);
    assert.deepEqual(names(out), files);

    await convert(IMAGE, out, { ...PVE, force: true });
    assert.deepEqual(names(out), files);
    for (const name of files) assert.notEqual(Deno.readTextFileSync(`${out}/${name}`), `mine: ${name}\n`, name);
    assert.match(Deno.readTextFileSync(`${out}/120.conf`), /^lxc\.include: \/var\/lib\/lxc\/120\/oci2lxc\.conf$/m);
    assert.deepEqual([...Deno.readFileSync(`${out}/web.tar.zst`).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    assert.equal(JSON.parse(Deno.readTextFileSync(`${out}/120.oci2lxc.json`)).pve.vmid, 120);
  });
});

Deno.test("--format pve: another --vmid and --name write beside an earlier conversion's files", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out`;
    await convert(IMAGE, out, PVE);
    await convert(IMAGE, out, { ...PVE, vmid: 121, name: "web2" });
    assert.deepEqual(names(out), [
      "120.conf",
      "120.oci2lxc.conf",
      "120.oci2lxc.json",
      "121.conf",
      "121.oci2lxc.conf",
      "121.oci2lxc.json",
      "web.tar.zst",
      "web2.tar.zst",
    ]);
  });
});

Deno.test("--format pve: a conf that appears while the template is written is kept, and the template goes", async () => {
  await withTempDir(async (dir) => {
    const rootfs = `${dir}/rootfs`;
    Deno.mkdirSync(`${rootfs}/bin`, { recursive: true });
    Deno.writeTextFileSync(`${rootfs}/bin/app`, "#!/bin/sh\n", { mode: 0o755 });
    const plan = makePlan(
      { config: { Cmd: ["/bin/app"] } },
      { os: "linux", architecture: "amd64" },
      directoryRootfsReader(rootfs),
      { name: "app" },
    );
    const out = `${dir}/out`;
    Deno.mkdirSync(out);
    // The check before any work found nothing; another program writes 130.conf before the conf is placed.
    userFile(`${out}/130.conf`, "# written meanwhile\n");
    await assert.rejects(
      () => writePveOutput({ rootfsDir: rootfs, plan, outDir: out, vmid: 130, pveVersion: "8", name: "app" }),
      (err: unknown) =>
        err instanceof Oci2LxcError && err.code === "destination" &&
        err.message === `Cannot write ${out}/130.conf: it already exists`,
    );
    assertUntouched(`${out}/130.conf`, "# written meanwhile\n");
    assert.deepEqual(names(out), ["130.conf"], "the template this run placed is gone, and no partial file is left");
  });
});

Deno.test("pveDestFiles lists the include file for every target whose conf may need one", async () => {
  await withTempDir((dir) => {
    Deno.mkdirSync(`${dir}/srv`);
    const plan = makePlan(
      { config: { Cmd: ["/app"], User: "1000:1000", WorkingDir: "/srv" } },
      { os: "linux", architecture: "amd64" },
      directoryRootfsReader(dir),
      { name: "app" },
    );
    for (const version of ["7", "8", "9.0", "9.1", "9.1.12", "pve-container/6.1.0", "pve-container/6.1.10"]) {
      const target = parsePveTarget(version);
      const rendered = renderPveConfig(plan, {
        vmid: 120,
        pveVersion: target.version,
        pveContainer: target.pveContainer,
        templateName: "app.tar.zst",
      });
      const listed = pveDestFiles("/out", { name: "app", vmid: 120, target }).some((f) => f.kind === "include");
      assert.equal(listed, rendered.include !== undefined, version);
    }
  });
});
