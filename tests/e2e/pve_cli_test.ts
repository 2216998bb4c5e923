import assert from "node:assert/strict";
import { run, withTempDir } from "../_helpers/oci_builder.ts";
import { cli, ENTRIES } from "./_cli.ts";

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
