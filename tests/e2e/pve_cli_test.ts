import assert from "node:assert/strict";
import { run, withTempDir } from "../_helpers/oci_builder.ts";
import { cli, ENTRIES } from "./_cli.ts";
import { buildAppImages } from "../update/_app_image.ts";

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] convert --format pve writes a template pct can unpack and a VMID.conf, and prints the steps`, async () => {
    await withTempDir(async (dir) => {
      const r = await cli(entry, [
        "convert",
        "docker-archive:fixtures/images/busybox.docker.tar.gz",
        `${dir}/out`,
        "--format",
        "pve",
        "--vmid",
        "120",
        "--pve-version",
        "9.0",
        "--name",
        "busybox",
        "--json",
        "--quiet",
      ]);
      assert.deepEqual(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(report.pve.template, `${dir}/out/busybox.tar.zst`);
      assert(report.pve.steps.some((s: string) => s.startsWith("pct create 120 local:vztmpl/busybox.tar.zst")));
      // The way pct unpacks a template: zstd-compressed tar, numeric owners, members under ./
      const listing = new TextDecoder().decode(
        await run(["tar", "--zstd", "--numeric-owner", "-tvf", `${dir}/out/busybox.tar.zst`]),
      );
      assert(/^-rwxr-xr-x 0\/0 .* \.\/bin\/busybox$/m.test(listing), listing.slice(0, 500));
      assert(/^drwxr-xr-x 1000\/1000 .* \.\/work\/?$/m.test(listing), "the app's workdir keeps its owner");
      const conf = Deno.readTextFileSync(`${dir}/out/120.conf`);
      for (const key of ["arch: amd64", "ostype: unmanaged", "cmode: console", "lxc.signal.halt: SIGQUIT"]) {
        assert(conf.includes(`${key}\n`), `${key} missing:\n${conf}`);
      }
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out"], "no staging directory left");
    });
  });
}

Deno.test("convert --format pve without --vmid is a usage error", async () => {
  const r = await cli("main.ts", [
    "convert",
    "fixtures/images/busybox.oci.tar",
    "/tmp/never-written",
    "--format",
    "pve",
  ]);
  assert.deepEqual(r.code, 2);
  assert(r.stderr.startsWith("error: Cannot write Proxmox VE output without a container id"), r.stderr);
});

Deno.test("convert --format pve without link= says the interface goes on vmbr0, as the conf has it", async () => {
  await withTempDir(async (dir) => {
    const r = await cli("main.ts", [
      "convert",
      "fixtures/images/busybox.oci.tar",
      `${dir}/out`,
      ...["--format", "pve", "--vmid", "120", "--net", "ip=10.0.0.5/24,gw=10.0.0.1", "--json", "--quiet"],
    ]);
    assert.deepEqual(r.code, 0, r.stderr);
    assert(Deno.readTextFileSync(`${dir}/out/120.conf`).includes("net0: name=eth0,bridge=vmbr0,"));
    // Plain LXC's warning ("no link=, so the host end of its veth is on no bridge") does not hold for Proxmox VE.
    const warnings: string[] = JSON.parse(r.stdout).warnings;
    assert(!warnings.some((w) => w.includes("no bridge")), warnings.join("\n"));
    assert(
      warnings.includes("network: eth0: veth on vmbr0, 10.0.0.5/24 via 10.0.0.1, IPv6 SLAAC (kernel)"),
      warnings.join("\n"),
    );
  });
});

const OLD = new Date("2001-02-03T04:05:06Z");
const PVE_ARGS = ["--format", "pve", "--vmid", "120", "--name", "busybox", "--quiet"];

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] convert --format pve refuses a hand-edited VMID.conf in DEST (exit 9), also with --dry-run`, async () => {
    await withTempDir(async (dir) => {
      const out = `${dir}/out`;
      Deno.mkdirSync(out);
      Deno.writeTextFileSync(`${out}/120.conf`, "# my edits\n");
      Deno.utimeSync(`${out}/120.conf`, OLD, OLD);
      for (const extra of [[], ["--dry-run"]]) {
        const r = await cli(entry, ["convert", "fixtures/images/busybox.oci.tar", out, ...PVE_ARGS, ...extra]);
        assert.deepEqual(r.code, 9, r.stderr);
        assert.deepEqual(
          r.stderr,
          `error: Cannot write ${out}/120.conf: it already exists\n` +
            "hint: Pass --force to replace it, or another --vmid, or another DEST\n",
        );
        assert.deepEqual(Deno.readTextFileSync(`${out}/120.conf`), "# my edits\n");
        assert.deepEqual(Deno.statSync(`${out}/120.conf`).mtime?.getTime(), OLD.getTime());
        assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["120.conf"], "nothing else written");
        assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out"], "nothing beside DEST");
      }
      const forced = await cli(entry, ["convert", "fixtures/images/busybox.oci.tar", out, ...PVE_ARGS, "--force"]);
      assert.deepEqual(forced.code, 0, forced.stderr);
      assert(Deno.readTextFileSync(`${out}/120.conf`).includes("ostype: unmanaged\n"), "--force replaced it");
    });
  });
}

Deno.test("convert --format pve run twice: the second run is refused, naming the template and the 3 other files", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out`;
    const args = ["convert", "fixtures/images/busybox.oci.tar", out, ...PVE_ARGS];
    const first = await cli("main.ts", args);
    assert.deepEqual(first.code, 0, first.stderr);
    const before = [...Deno.readDirSync(out)].map((e) => [e.name, Deno.statSync(`${out}/${e.name}`).mtime?.getTime()]);
    const again = await cli("main.ts", args);
    assert.deepEqual(again.code, 9, again.stderr);
    assert(
      again.stderr.startsWith(
        `error: Cannot write ${out}/busybox.tar.zst: it already exists (and 3 more of the files this conversion ` +
          "writes: 120.conf, 120.oci2lxc.conf, 120.oci2lxc.json)\n",
      ),
      again.stderr,
    );
    const after = [...Deno.readDirSync(out)].map((e) => [e.name, Deno.statSync(`${out}/${e.name}`).mtime?.getTime()]);
    assert.deepEqual(after, before);
  });
});

Deno.test("update of a --format pve output replaces its own template, but not a conf of the new id without --force", async () => {
  await withTempDir(async (dir) => {
    const { v1, v2 } = await buildAppImages(dir);
    const out = `${dir}/out`;
    const made = await cli("main.ts", ["convert", `oci:${v1.dir}`, out, "--format", "pve", "--vmid", "120", "--quiet"]);
    assert.deepEqual(made.code, 0, made.stderr);
    const oldTemplate = await sha256(`${out}/out.tar.zst`);
    Deno.writeTextFileSync(`${out}/121.conf`, "# container 121, made by hand\n");
    const refused = await cli("main.ts", ["update", out, `oci:${v2.dir}`, "--vmid", "121", "--quiet"]);
    assert.deepEqual(refused.code, 9, refused.stderr);
    assert(refused.stderr.startsWith(`error: Cannot write ${out}/121.conf: it already exists\n`), refused.stderr);
    assert.deepEqual(Deno.readTextFileSync(`${out}/121.conf`), "# container 121, made by hand\n");

    const r = await cli("main.ts", ["update", out, `oci:${v2.dir}`, "--vmid", "122", "--quiet"]);
    assert.deepEqual(r.code, 0, r.stderr);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "120.conf",
      "120.oci2lxc.json",
      "121.conf",
      "122.conf",
      "122.oci2lxc.json",
      "out.tar.zst",
    ]);
    assert.notDeepEqual(
      await sha256(`${out}/out.tar.zst`),
      oldTemplate,
      "the new generation's template took its place",
    );
    assert.deepEqual(
      JSON.parse(Deno.readTextFileSync(`${out}/122.oci2lxc.json`)).image.manifestDigest,
      v2.manifestDigest,
    );
  });
});

async function sha256(path: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", Deno.readFileSync(path)));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}
